/**
 * GitOps: the synthesized dist/ is a kustomization. The real `kustomize build` (sigs.k8s.io/kustomize v5, from
 * scripts/install-peers.sh) renders exactly the synthesized objects, as Argo CD and Flux would; the real
 * kube-apiserver (with kube-controller-manager, no kubelet) accepts all of it by server-side apply, a second apply
 * changes nothing, and the namespace's Pod Security labels are enforced: the chart's pods are admitted, a
 * non-compliant pod is rejected.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ControlPlane } from './control-plane';
import { findPeers } from './peers';

const root = join(__dirname, '..', '..');
const MINUTE = 60_000;

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
const key = (o: Obj) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objs: Obj[]) => new Map(objs.map((o) => [key(o), o]));

describe('dist/ as a GitOps source', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'secure-temporal-gitops-'));
    // The default app, as `npx cdk8s synth` runs it (cdk8s.yaml), into a folder of its own.
    execFileSync(process.execPath, [join(root, 'scripts', 'synth-app.js')],
      { cwd: root, env: { ...process.env, CDK8S_OUTDIR: out }, stdio: 'pipe' });
  }, 2 * MINUTE);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('holds a kustomization of the synthesized manifests', () => {
    expect(parse(readFileSync(join(out, 'kustomization.yaml'), 'utf8'))).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['temporal.k8s.yaml'],
    });
  });

  test('kustomize build renders exactly the synthesized objects, field for field', () => {
    const kustomize = join(findPeers().binDir, 'kustomize');
    const rendered = parseAllDocuments(execFileSync(kustomize, ['build', out], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }))
      .map((d) => d.toJS() as Obj);
    const synthesized = parseAllDocuments(readFileSync(join(out, 'temporal.k8s.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
    expect(rendered.length).toBe(synthesized.length);
    expect([...byKey(rendered).keys()].sort()).toEqual([...byKey(synthesized).keys()].sort());
    const expected = byKey(synthesized);
    for (const [k, object] of byKey(rendered)) {
      expect([k, object]).toEqual([k, expected.get(k)]);
    }
    // No Secret with data, and no cluster-scoped object with a namespace.
    expect(synthesized.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(synthesized.filter((o) => ['Namespace', 'ClusterIssuer', 'CertificateRequestPolicy'].includes(o.kind) && o.metadata.namespace))
      .toEqual([]);
  });
});

describe('dist/ applied to a real API server', () => {
  let out: string;
  let cluster: ControlPlane;
  let synthesized: Obj[];
  /** Every synthesized object as the API server holds it (one `kubectl get -f`), by key. */
  const live = (): Map<string, Obj & { metadata: { resourceVersion: string } }> => {
    const list = JSON.parse(cluster.kubectl(['get', '-f', join(out, 'temporal.k8s.yaml'), '-o', 'json'])) as
      { items: (Obj & { metadata: { resourceVersion: string } })[] };
    return new Map(list.items.map((o) => [key(o), o]));
  };
  /**
   * What an apply would change: the generation of objects that have one (controllers writing a workload's status move
   * its resourceVersion, never its generation), the resourceVersion of the others.
   */
  const resourceVersions = (): Map<string, string> => new Map([...live()].map(([k, o]) => {
    const generation = (o.metadata as { generation?: number }).generation;
    return [k, generation !== undefined ? `generation ${generation}` : `resourceVersion ${o.metadata.resourceVersion}`];
  }));

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'secure-temporal-gitops-apply-'));
    execFileSync(process.execPath, [join(root, 'scripts', 'synth-app.js')],
      { cwd: root, env: { ...process.env, CDK8S_OUTDIR: out }, stdio: 'pipe' });
    synthesized = parseAllDocuments(readFileSync(join(out, 'temporal.k8s.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
    cluster = new ControlPlane('gitops');
    await cluster.start();
    // What must exist first (docs/GITOPS.md): cert-manager's CRDs and its namespace.
    cluster.installCertManagerApi(root);
  }, 10 * MINUTE);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(out, { recursive: true, force: true });
  }, 2 * MINUTE);

  test('kubectl apply --server-side -k dist/ creates every object', () => {
    const applied = cluster.kubectl(['apply', '--server-side', '-k', out]);
    expect(applied.trim().split('\n')).toHaveLength(synthesized.length);
    for (const line of applied.trim().split('\n')) {
      expect(line).toMatch(/ serverside-applied$/);
    }
    expect(resourceVersions().size).toBe(synthesized.length);
  }, 5 * MINUTE);

  test('a second apply changes nothing: kubectl diff is empty, and no generation (or resourceVersion) moves', () => {
    const before = resourceVersions();
    expect(cluster.kubectl(['diff', '--server-side', '-k', out])).toBe('');
    cluster.kubectl(['apply', '--server-side', '-k', out]);
    expect(resourceVersions()).toEqual(before);
  }, 5 * MINUTE);

  test('the CRD schemas are enforced: a Certificate with a bad field is rejected', () => {
    const certificate = synthesized.find((o) => o.kind === 'Certificate')!;
    const bad = { ...certificate, metadata: { ...certificate.metadata, name: 'bad-certificate' },
      spec: { ...(certificate as unknown as { spec: object }).spec, duration: 42, secretName: undefined } };
    expect(() => cluster.kubectl(['create', '-f', '-'], JSON.stringify(bad))).toThrow(/spec\.duration|spec\.secretName|Invalid value/);
  }, MINUTE);

  test('Pod Security "restricted" is enforced in the namespace: the chart\'s pods are admitted, another pod is rejected', async () => {
    const namespace = synthesized.find((o) => o.kind === 'Namespace')!.metadata.name;
    type Workload = Obj & { spec: { replicas?: number }; status?: { replicas?: number } };
    const workloads = synthesized.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as Workload[];
    expect(workloads.length).toBeGreaterThan(5);
    // kube-controller-manager creates each workload's Pods (no kubelet runs them); admission checks every Pod, and
    // a workload's status counts the Pods that were admitted.
    const created = (): string[] => {
      const now = live();
      return workloads.filter((w) => ((now.get(key(w)) as Workload | undefined)?.status?.replicas ?? 0) >= (w.spec.replicas ?? 1))
        .map((w) => w.metadata.name);
    };
    const deadline = Date.now() + 3 * MINUTE;
    while (created().length < workloads.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    expect(created().sort()).toEqual(workloads.map((w) => w.metadata.name).sort());
    expect(cluster.kubectl(['get', 'events', '-n', namespace, '--field-selector', 'reason=FailedCreate', '-o', 'name']).trim()).toBe('');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'not-restricted', namespace },
      spec: { containers: [{ name: 'shell', image: 'busybox:1.36', command: ['sleep', '3600'] }] } };
    expect(() => cluster.kubectl(['create', '-f', '-'], JSON.stringify(pod)))
      .toThrow(/violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false.*runAsNonRoot != true.*seccompProfile/s);
  }, 5 * MINUTE);
});
