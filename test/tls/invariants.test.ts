/**
 * Invariants over everything the TLS module synthesizes, in several configurations, with the consumers
 * wired the way the cluster constructs will wire them (server pods, Web UI, admin tools), so that the
 * checks see mounts, env vars and the rendered config too.
 */
import { k8s } from 'cdk8s-plus-27';
import { Duration } from 'cdk8s';
import { stringify } from 'yaml';
import { clientTlsFiles, clientTlsWiring, serverTlsWiring, temporalCliTlsEnv, webUiTlsEnv } from '../../lib/tls/consumers';
import { issuerProblems } from '../../lib/tls/issuer-check';
import { sanCovers } from '../../lib/tls/trust';
import { certManagerSchemaErrors } from './crd-schema';
import { NAMESPACE, Obj, ofKind, synth, tlsFixture, TlsFixture } from './fixtures';

function withConsumers(fixture: TlsFixture): Obj[] {
  const { chart, pki } = fixture;
  const tls = pki.globalTls({ internode: fixture.internode, frontend: fixture.frontend });
  new k8s.KubeConfigMap(chart, 'ServerConfig', {
    metadata: { name: 'temporal-config' },
    data: { 'config.yaml': stringify({ global: { tls } }) },
  });
  const pod = (name: string, wiring: { volumes: k8s.Volume[]; mounts: k8s.VolumeMount[] }, env: k8s.EnvVar[]) =>
    new k8s.KubeDeployment(chart, name, {
      metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name, image: 'example:1', env, volumeMounts: wiring.mounts }], volumes: wiring.volumes },
        },
      },
    });
  pod('server', serverTlsWiring(pki, { internode: fixture.internode, frontend: fixture.frontend }), []);
  const anchorFiles = (purpose: Parameters<typeof pki.trustAnchorFiles>[0], dir: string) => pki.trustAnchorFiles(purpose, dir);
  const web = clientTlsFiles(fixture.web, fixture.frontend, { anchorFiles });
  pod('web', clientTlsWiring(pki, fixture.web, web), webUiTlsEnv(web));
  const admin = clientTlsFiles(fixture.adminTools, fixture.frontend, { anchorFiles });
  pod('admintools', clientTlsWiring(pki, fixture.adminTools, admin), temporalCliTlsEnv(admin));
  return synth(fixture);
}

const corp = (name: string) => ({ issuer: { kind: 'ClusterIssuer', name }, trustAnchor: { configMapName: 'corp', key: `${name}.crt` } });
const CONFIGURATIONS: [string, () => TlsFixture][] = [
  ['generated, direct', () => tlsFixture()],
  ['generated, behind the authorizer proxy', () => tlsFixture({}, { access: 'authorizer-proxy' })],
  ['RSA, own cluster resource namespace, CA keys rotated', () => tlsFixture({
    privateKey: { algorithm: 'RSA', size: 4096 }, clusterResourceNamespace: 'pki', caPrivateKeyRotationPolicy: 'Always',
    leafDuration: Duration.days(30), leafRenewBefore: Duration.days(10) })],
  ['external issuers', () => tlsFixture({ external: {
    internode: corp('internode'), frontend: corp('frontend'), platformClients: corp('platform'), workload: corp('workload') } })],
];

const envValues = (objects: Obj[]): string[] => ofKind(objects, 'Deployment')
  .flatMap((d) => d.spec.template.spec.containers).flatMap((c: Obj) => (c.env ?? []).map((e: Obj) => e.value ?? ''));
const envOf = (objects: Obj[], deployment: string, name: string): string =>
  ofKind(objects, 'Deployment').find((d) => d.metadata.name === deployment)?.spec.template.spec.containers[0].env
    .find((e: Obj) => e.name === name)?.value;

describe.each(CONFIGURATIONS)('TLS invariants: %s', (_name, build) => {
  const fixture = build();
  const objects = withConsumers(fixture);
  const certificates = ofKind(objects, 'Certificate');
  const caSecrets = new Set([...ofKind(objects, 'Issuer'), ...ofKind(objects, 'ClusterIssuer')]
    .filter((i) => i.spec.ca).map((i) => i.spec.ca.secretName as string));
  // The second key slot of a generated purpose CA is a CA too, trusted everywhere, that no issuer signs with until a
  // rollover moves signing to it (and then the first slot is the one no issuer uses).
  const otherSlots = new Set(Object.values(fixture.pki.secondSlotCaSpecifications).map((spec) => spec?.secretName)
    .concat(Object.values(fixture.pki.caSpecifications).map((spec) => spec?.secretName)));
  const isCaCert = (c: Obj) => caSecrets.has(c.spec.secretName) || otherSlots.has(c.spec.secretName);

  it('does validate every cert-manager object against the vendored CRD schema, unknown fields included', () => {
    expect(objects.flatMap(certManagerSchemaErrors)).toEqual([]);
  });

  it('does resolve every Certificate\'s issuer in the output or among the declared external issuers', () => {
    const { clusterResourceNamespace, declaredIssuers } = fixture.pki;
    expect(issuerProblems(objects, { clusterResourceNamespace, declared: declaredIssuers })).toEqual([]);
  });

  it('does mark exactly the certificates issuers sign with as CAs, with CA usages only', () => {
    for (const cert of certificates) {
      expect([cert.metadata.name, cert.spec.isCA === true]).toEqual([cert.metadata.name, isCaCert(cert)]);
      if (isCaCert(cert)) {
        expect(cert.spec.usages).toEqual(expect.arrayContaining(['cert sign']));
        expect(cert.spec.usages.filter((u: string) => u.endsWith(' auth'))).toEqual([]);
        expect(cert.spec.dnsNames).toBeUndefined();
      }
    }
  });

  it('does give each leaf usages that fit its role', () => {
    for (const cert of certificates.filter((c) => !isCaCert(c))) {
      const usages: string[] = cert.spec.usages;
      expect(usages).toContain('digital signature');
      expect(usages).not.toContain('any');
      if (usages.includes('server auth')) {
        expect(cert.spec.dnsNames?.length ?? 0).toBeGreaterThan(0);
      } else {
        expect([cert.metadata.name, cert.spec.dnsNames]).toEqual([cert.metadata.name, undefined]);
      }
    }
  });

  it('does rotate every leaf key; CA keys follow caPrivateKeyRotationPolicy', () => {
    const caPolicy = fixture.pki.caPrivateKeyRotationPolicy;
    for (const cert of certificates) {
      expect([cert.metadata.name, cert.spec.privateKey.rotationPolicy])
        .toEqual([cert.metadata.name, isCaCert(cert) ? caPolicy : 'Always']);
    }
  });

  it('does cover, in the SANs of the certificate a server presents, every name used to reach it', () => {
    const sansOf = (secretName: string): string[] =>
      certificates.find((c) => c.metadata.namespace === NAMESPACE && c.spec.secretName === secretName)?.spec.dnsNames ?? [];
    const covered = (secretName: string, host: string) => sansOf(secretName).some((san) => sanCovers(san, host));
    const config = fixture.pki.globalTls({ internode: fixture.internode, frontend: fixture.frontend });
    expect(covered(fixture.internode.secretName, config.internode.client.serverName)).toBe(true);
    for (const name of [config.frontend.client.serverName, config.systemWorker.client.serverName,
      envOf(objects, 'web', 'TEMPORAL_TLS_SERVER_NAME'), envOf(objects, 'admintools', 'TEMPORAL_TLS_SERVER_NAME')]) {
      expect([name, covered(fixture.frontend.secretName, name)]).toEqual([name, true]);
    }
    // Every name of every Service of the fixture, written out here (not derived by the library's serviceDnsNames):
    // the short name, with the namespace, with `.svc`, and fully qualified.
    const names = (svc: string): string[] => [svc, `${svc}.temporal`, `${svc}.temporal.svc`, `${svc}.temporal.svc.cluster.local`];
    expect(ofKind(objects, 'Service').map((s) => s.metadata.name).sort()).toEqual(['temporal-frontend', 'temporal-frontend-headless',
      'temporal-history-headless', 'temporal-internal-frontend', 'temporal-internal-frontend-headless', 'temporal-matching-headless',
      'temporal-worker-headless']);
    for (const host of names('temporal-frontend')) {
      expect([host, covered(fixture.frontend.secretName, host)]).toEqual([host, true]);
    }
    for (const svc of ['temporal-internal-frontend', 'temporal-frontend-headless', 'temporal-history-headless',
      'temporal-internal-frontend-headless', 'temporal-matching-headless', 'temporal-worker-headless']) {
      for (const host of names(svc)) {
        expect([host, covered(fixture.internode.secretName, host)]).toEqual([host, true]);
      }
    }
    expect(covered(fixture.frontend.secretName, 'temporal.example.com')).toBe(true);
    expect(covered(fixture.frontend.secretName, 'temporal-frontend.other.svc.cluster.local')).toBe(false);
  });

  it('does keep private key material out of ConfigMaps, env literals and the rendered config', () => {
    const text = JSON.stringify([...ofKind(objects, 'ConfigMap'), ...envValues(objects)]);
    expect(text).not.toMatch(/PRIVATE KEY|BEGIN (RSA|EC) /);
    expect(envValues(objects).filter((v) => v.includes('BEGIN'))).toEqual([]);
    expect(ofKind(objects, 'Secret')).toEqual([]);
  });

  it('does never mount a CA key, and mounts leaf keys only through tls.key items of mode 0440', () => {
    const volumes: Obj[] = ofKind(objects, 'Deployment').flatMap((d) => d.spec.template.spec.volumes ?? []);
    for (const volume of volumes) {
      const secretSources = [volume.secret, ...(volume.projected?.sources ?? []).map((s: Obj) => s.secret)].filter(Boolean);
      for (const source of secretSources) {
        const secretName = source.secretName ?? source.name;
        const keys = (source.items ?? []).map((i: Obj) => i.key);
        expect([secretName, keys.length > 0]).toEqual([secretName, true]);
        if (caSecrets.has(secretName)) {
          expect([secretName, keys]).toEqual([secretName, ['tls.crt']]);
        }
        if (keys.includes('tls.key')) {
          expect(volume.secret?.defaultMode).toBe(0o440);
        }
      }
    }
  });
});
