/**
 * GitOps: the synthesized dist/ is a kustomization. The real `kustomize build` (sigs.k8s.io/kustomize v5, from
 * scripts/install-peers.sh) renders exactly the synthesized objects, as Argo CD and Flux would.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
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
    execFileSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'main.ts'],
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
