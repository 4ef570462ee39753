/**
 * The CA rollover of the whole chart (docs/SECURITY.md "CA rollover"): every pod trusts both key slots of every
 * purpose CA it anchors on, before, during and after a rollover, and moving signing to the other slot changes the
 * issuers alone, so that no pod restarts and no peer ever meets a leaf it does not trust.
 */
import { App } from 'cdk8s';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { Peer } from '../../lib/core/peers';
import { K8sObject, synth } from '../util';

const PROPS: SecureTemporalChartProps = {
  clientIdentities: [{ name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['orders'], role: 'write' }],
  clientNamespaces: [Peer.namespace('orders')],
  webUi: {},
};
const ALL_SECOND: SecureTemporalChartProps = {
  ...PROPS, tls: { caSigningSlots: { 'internode': 2, 'frontend': 2, 'platform-clients': 2, 'workload': 2 } },
};

const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const build = (props: SecureTemporalChartProps) => synth(new SecureTemporalChart(new App(), 'temporal', props));

interface PodOf { readonly name: string; readonly spec: IPodSpec }
function pods(objs: readonly K8sObject[]): PodOf[] {
  return objs.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))
    .map((o) => ({ name: key(o), spec: (o.spec as { template: { spec: IPodSpec } }).template.spec }));
}

/** Every trust anchor file a container reads: the CA files of its env and of its server config, by purpose and slot. */
function anchorFilesMounted(spec: IPodSpec, container: IContainer, dir: string): string[] {
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === dir);
  const volume = (spec.volumes ?? []).find((v) => v.name === mount?.name);
  return (volume?.projected?.sources ?? []).flatMap((s) => [...(s.secret?.items ?? []), ...(s.configMap?.items ?? [])].map((i) => i.path));
}

describe('the CA rollover of the chart', () => {
  const before = build(PROPS);
  const during = build(ALL_SECOND);

  it('changes the issuers alone when signing moves to the second slots: no pod template, no Certificate, no policy', () => {
    const changed = during.filter((o) => JSON.stringify(o) !== JSON.stringify(before.find((b) => key(b) === key(o))));
    expect(changed.map(key).sort()).toEqual([
      'ClusterIssuer//temporal-workload-ca', 'Issuer/temporal/temporal-frontend-ca', 'Issuer/temporal/temporal-internode-ca',
      'Issuer/temporal/temporal-platform-clients-ca',
    ]);
    expect(during.map(key).sort()).toEqual(before.map(key).sort());
  });

  it('mounts both slots of a purpose CA wherever its first slot is mounted, in every pod', () => {
    let seen = 0;
    for (const pod of pods(before)) {
      for (const container of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
        for (const mount of container.volumeMounts ?? []) {
          const files = anchorFilesMounted(pod.spec, container, mount.mountPath);
          for (const file of files.filter((f) => /^[a-z-]+-ca\.crt$/.test(f) && f !== 'root-ca.crt' && f !== 'database-clients-ca.crt')) {
            expect([pod.name, files]).toEqual([pod.name, expect.arrayContaining([file.replace(/-ca\.crt$/, '-ca-2.crt')])]);
            seen += 1;
          }
        }
      }
    }
    expect(seen).toBeGreaterThan(10);
  });

  it('names both slots\' files wherever a program is told where its anchors are (server config, proxy, codec server)', () => {
    const texts = before.filter((o) => o.kind === 'ConfigMap').map((o) => JSON.stringify(o.data ?? {}))
      .concat(pods(before).flatMap((p) => (p.spec.containers ?? []).flatMap((c) => (c.env ?? []).map((e) => e.value ?? ''))));
    const firstSlotFiles = texts.flatMap((t) => [...t.matchAll(/\/etc\/temporal\/tls\/trust[a-z-]*\/([a-z-]+)-ca\.crt/g)].map((m) => m[0]))
      .filter((f) => !f.endsWith('/root-ca.crt'));
    expect(firstSlotFiles.length).toBeGreaterThan(5);
    for (const file of new Set(firstSlotFiles)) {
      const second = file.replace(/-ca\.crt$/, '-ca-2.crt');
      expect([file, texts.some((t) => t.includes(second))]).toEqual([file, true]);
    }
  });

  it('gives the Go clients of the server\'s CA (Web UI, admin tools, jobs) a trust directory holding that CA\'s anchors alone', () => {
    const programs = pods(before).flatMap((p) => (p.spec.containers ?? []).map((c) => ({ pod: p, container: c })))
      .filter(({ container }) => (container.env ?? []).some((e) => e.name === 'SSL_CERT_DIR'));
    expect(programs.map(({ pod, container }) => `${pod.name}:${container.name}`).length).toBeGreaterThanOrEqual(3);
    for (const { pod, container } of programs) {
      const dir = (container.env ?? []).find((e) => e.name === 'SSL_CERT_DIR')?.value ?? '';
      const files = anchorFilesMounted(pod.spec, container, dir).sort();
      expect([pod.name, files]).toEqual([pod.name, ['frontend-ca-2.crt', 'frontend-ca.crt']]);
      // No bundle of the image is read: SSL_CERT_FILE is empty (or the identity provider's CA, for the Web UI with SSO).
      expect((container.env ?? []).find((e) => e.name === 'SSL_CERT_FILE')?.value).toBe('/dev/null');
      expect((container.env ?? []).map((e) => e.name)).not.toContain('TEMPORAL_TLS_CA');
    }
  });
});
