import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { serviceDnsOf } from '../../lib/tls/dns';
import { TlsIdentity } from '../../lib/tls/identity';
import { TemporalPki, TemporalPkiProps } from '../../lib/tls/pki';

/** A synthesized object, as plain JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export const NAMESPACE = 'temporal';

/** A TLS test chart: a fresh Chart in namespace `temporal` with the Services the certificates are derived from. */
export interface TlsFixture {
  readonly chart: Chart;
  readonly pki: TemporalPki;
  readonly frontendService: k8s.KubeService;
  readonly internalFrontendService: k8s.KubeService;
  readonly headless: k8s.KubeService[];
  readonly internode: TlsIdentity;
  readonly frontend: TlsIdentity;
  readonly web: TlsIdentity;
  readonly adminTools: TlsIdentity;
  readonly jobs: TlsIdentity;
  readonly worker: TlsIdentity;
}

function service(chart: Chart, id: string, name: string, headless = false): k8s.KubeService {
  return new k8s.KubeService(chart, id, {
    metadata: { name },
    spec: { ...(headless ? { clusterIp: 'None' } : {}), ports: [{ port: 7233 }] },
  });
}

/** Builds the fixture; `props` go to TemporalPki. */
export function tlsFixture(props: TemporalPkiProps = {}, options: { readonly extraHosts?: string[] } = {}): TlsFixture {
  const chart = new Chart(Testing.app(), 'tls', { namespace: NAMESPACE });
  const frontendService = service(chart, 'FrontendService', 'temporal-frontend');
  const internalFrontendService = service(chart, 'InternalFrontendService', 'temporal-internal-frontend');
  const headless = ['frontend', 'history', 'matching', 'worker', 'internal-frontend']
    .map((s) => service(chart, `${s}-headless`, `temporal-${s}-headless`, true));
  const pki = new TemporalPki(chart, 'Pki', props);
  const internode = pki.issueInternodeCertificate({
    servedBy: [...headless, internalFrontendService].map((s) => serviceDnsOf(s, pki.clusterDomain)),
  });
  const frontend = pki.issueFrontendCertificate({
    service: serviceDnsOf(frontendService, pki.clusterDomain),
    extraHosts: options.extraHosts ?? ['temporal.example.com'],
  });
  const web = pki.issuePlatformClientCertificate('WebClient', { name: 'web' });
  const adminTools = pki.issuePlatformClientCertificate('AdminToolsClient', { name: 'admintools' });
  const jobs = pki.issuePlatformClientCertificate('JobsClient', { name: 'jobs' });
  const worker = pki.issueClientCertificate('OrdersWorker', {
    name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['orders', 'orders-staging'],
  });
  return { chart, pki, frontendService, internalFrontendService, headless, internode, frontend, web, adminTools, jobs, worker };
}

/** Synthesizes the fixture's chart. */
export function synth(fixture: { readonly chart: Chart }): Obj[] {
  return Testing.synth(fixture.chart) as Obj[];
}

/** All objects of a kind. */
export function ofKind(objects: readonly Obj[], kind: string): Obj[] {
  return objects.filter((o) => o.kind === kind);
}

/** The one object of a kind and name (and namespace when given); throws when absent or ambiguous. */
export function find(objects: readonly Obj[], kind: string, name: string, namespace?: string): Obj {
  const found = objects.filter((o) => o.kind === kind && o.metadata?.name === name &&
    (namespace === undefined || o.metadata?.namespace === namespace));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind} ${namespace ?? '*'}/${name}, found ${found.length}`);
  }
  return found[0];
}

/** The Certificate that writes `secretName` in `namespace`. */
export function certificateFor(objects: readonly Obj[], namespace: string, secretName: string): Obj {
  const found = ofKind(objects, 'Certificate').filter((c) => c.metadata.namespace === namespace && c.spec.secretName === secretName);
  if (found.length !== 1) {
    throw new Error(`expected one Certificate writing ${namespace}/${secretName}, found ${found.length}`);
  }
  return found[0];
}
