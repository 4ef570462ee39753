import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { serviceDnsOf } from '../../lib/core/dns';
import { TlsIdentity } from '../../lib/tls/identity';
import { TemporalPki, TemporalPkiProps } from '../../lib/tls/pki';
import { FrontendAccess } from '../../lib/tls/trust';

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

/** Builds the fixture; `props` go to TemporalPki; `options.access` decides who may present certificates to the frontend. */
export function tlsFixture(props: TemporalPkiProps = {},
  options: { readonly extraHosts?: string[]; readonly access?: FrontendAccess } = {}): TlsFixture {
  const chart = new Chart(Testing.app(), 'tls', { namespace: NAMESPACE });
  const frontendService = service(chart, 'FrontendService', 'temporal-frontend');
  const internalFrontendService = service(chart, 'InternalFrontendService', 'temporal-internal-frontend');
  const headless = ['frontend', 'history', 'matching', 'worker', 'internal-frontend']
    .map((s) => service(chart, `${s}-headless`, `temporal-${s}-headless`, true));
  const pki = new TemporalPki(chart, 'Pki', props);
  // Consumers own their certificates: each is issued into a scope of its own.
  const consumer = (cid: string): Construct => new Construct(chart, cid);
  const internode = pki.issueInternodeCertificate(consumer('Servers'), 'Internode', {
    servedBy: [...headless, internalFrontendService].map((s) => serviceDnsOf(s, pki.clusterDomain)),
  });
  const frontend = pki.issueFrontendCertificate(consumer('FrontendServer'), 'Frontend', {
    service: serviceDnsOf(frontendService, pki.clusterDomain),
    extraHosts: options.extraHosts ?? ['temporal.example.com'],
    access: options.access ?? 'direct',
  });
  const web = pki.issuePlatformClientCertificate(consumer('Web'), 'Client', { name: 'web' });
  const adminTools = pki.issuePlatformClientCertificate(consumer('AdminTools'), 'Client', { name: 'admintools' });
  const jobs = pki.issuePlatformClientCertificate(consumer('Jobs'), 'Client', { name: 'jobs' });
  const worker = pki.issueClientCertificate(consumer('OrdersWorker'), 'Client', {
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
