/**
 * `pulumi up` for real: the Automation API runs the stack's own program (stacks/program.ts, what `pulumi up` in
 * stacks/ runs) inline, with the real Pulumi CLI v3.274.1 and the real Kubernetes provider 4.25.0 (built by
 * scripts/install-peers.sh), against a real kube-apiserver with kube-controller-manager on loopback.
 *
 * - every object of the chart exists afterwards, and `kubectl get -o json` of each holds every field the chart
 *   synthesized, with the same values;
 * - a second `up` changes nothing (`expectNoChanges`);
 * - one changed prop (history replicas) is exactly one update, seen by the API server;
 * - `pulumi destroy` leaves nothing.
 *
 * Also: the CLI loads stacks/Pulumi.yaml itself (stack init, the config schema's defaults).
 *
 * No kubelet runs here, so no workload ever becomes ready: the test adds the annotation `pulumi.com/skipAwait`
 * to every Kubernetes resource (a Pulumi transform of the test, not a product default).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { LocalWorkspace, PulumiCommand, Stack } from '@pulumi/pulumi/automation';
import * as pulumi from '@pulumi/pulumi';
import { readStackConfig } from '../../stacks/config';
import { upgradeProgram } from '../../stacks/program';
import { ManifestObject, synthesizeObjects } from '../../stacks/secure-temporal';
import { ControlPlane } from './control-plane';
import { findPeers } from './peers';
import { TEMPORAL_VERSION } from '../../lib/core/images';

const root = join(__dirname, '..', '..');
const MINUTE = 60_000;
const key = (o: ManifestObject): string => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Where `expected` (what the chart synthesized) and `actual` (what the API server holds) differ; server defaults are extra. */
function mismatches(expected: unknown, actual: unknown, path: string, out: string[]): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    } else {
      expected.forEach((e, i) => mismatches(e, actual[i], `${path}[${i}]`, out));
    }
  } else if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') {
      out.push(`${path}: expected an object, got ${JSON.stringify(actual)}`);
    } else {
      for (const [k, v] of Object.entries(expected)) {
        mismatches(v, (actual as Record<string, unknown>)[k], `${path}.${k}`, out);
      }
    }
  } else if (expected !== actual) {
    out.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
  return out;
}

/** The test's transform: skip Pulumi's readiness wait (no kubelet here). */
const skipAwait: pulumi.ResourceTransform = (args) => {
  if (!args.type.startsWith('kubernetes:')) {
    return undefined;
  }
  const props = args.props as { metadata?: { annotations?: Record<string, string> } };
  return {
    props: { ...props, metadata: { ...(props.metadata ?? {}), annotations: { ...(props.metadata?.annotations ?? {}), 'pulumi.com/skipAwait': 'true' } } },
    opts: args.opts,
  };
};

describe('pulumi up of stacks/ against a real API server', () => {
  let cluster: ControlPlane;
  let work: string;
  let stack: Stack;
  let objects: ManifestObject[];
  const logs: string[] = [];

  const liveObjects = (): Map<string, Record<string, unknown>> => {
    const found = new Map<string, Record<string, unknown>>();
    for (const object of objects) {
      const json = cluster.tryKubectl(['get', object.kind, object.metadata.name,
        ...(object.metadata.namespace ? ['-n', object.metadata.namespace] : []), '-o', 'json']);
      if (json !== undefined) {
        found.set(key(object), JSON.parse(json) as Record<string, unknown>);
      }
    }
    return found;
  };

  beforeAll(async () => {
    cluster = new ControlPlane('pulumi');
    await cluster.start();
    cluster.installCertManagerApi(root);
    work = mkdtempSync(join(tmpdir(), 'secure-temporal-pulumi-'));
    for (const dir of ['home', 'state', 'project']) {
      mkdirSync(join(work, dir));
    }
    const env = {
      PULUMI_HOME: join(work, 'home'),
      PULUMI_BACKEND_URL: `file://${join(work, 'state')}`,
      PULUMI_CONFIG_PASSPHRASE: 'e2e-only',
      PULUMI_SKIP_UPDATE_CHECK: 'true',
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: 'true',
      KUBECONFIG: cluster.kubeconfig,
      // The provider plugin is found on PATH; no language host exists (the inline program is its own).
      PATH: [cluster.binDir, process.env.PATH ?? ''].join(delimiter),
    };
    const pulumiCommand = await PulumiCommand.get({ root: dirname(cluster.binDir), skipVersionCheck: true });
    stack = await LocalWorkspace.createOrSelectStack({
      stackName: 'e2e',
      projectName: 'secure-temporal',
      // What stacks/index.ts runs, plus the test's transform.
      program: async () => ({ ...await upgradeProgram(readStackConfig(), { transforms: [skipAwait] }) }),
    }, { workDir: join(work, 'project'), envVars: env, pulumiCommand });
    await stack.setAllConfig({
      'secure-temporal:certificates': { value: 'cert-manager' },
      'secure-temporal:values': { value: JSON.stringify({ history: { replicas: 1 } }) },
    });
    objects = synthesizeObjects({ history: { replicas: 1 } }).objects;
  }, 10 * MINUTE);

  afterAll(async () => {
    await cluster?.stop();
    if (work) {
      rmSync(work, { recursive: true, force: true });
    }
  }, 2 * MINUTE);

  test('up creates every object of the chart, field for field as synthesized', async () => {
    const result = await stack.up({ onOutput: (line) => logs.push(line) });
    expect(result.summary.result).toBe('succeeded');
    // The chart's objects, the component and the stack itself.
    expect(result.summary.resourceChanges?.create).toBe(objects.length + 2);
    expect(result.outputs.frontendAddress.value).toBe('temporal-authorizer-proxy.temporal.svc.cluster.local:7233');
    expect(result.outputs.objectCount.value).toBe(objects.length);
    expect(result.outputs.serverVersion.value).toBe(TEMPORAL_VERSION);
    // The first update: the stack has no earlier serverVersion.
    expect(result.outputs.previousServerVersion?.value).toBeUndefined();
    const live = liveObjects();
    expect([...live.keys()].sort()).toEqual(objects.map(key).sort());
    for (const object of objects) {
      const actual = live.get(key(object))!;
      const problems = mismatches(object, actual, key(object), []);
      expect(problems).toEqual([]);
      expect((actual.metadata as { annotations?: Record<string, string> }).annotations?.['pulumi.com/skipAwait']).toBe('true');
    }
  }, 15 * MINUTE);

  test('a second up changes nothing, and reads the first one\'s serverVersion back as the running version', async () => {
    const result = await stack.up({ expectNoChanges: true, onOutput: (line) => logs.push(line) });
    expect(result.summary.result).toBe('succeeded');
    expect(result.outputs.previousServerVersion.value).toBe(TEMPORAL_VERSION);
    // The chart's objects, the component and the stack unchanged; the stack's own outputs read (its StackReference).
    expect(result.summary.resourceChanges).toEqual({ same: objects.length + 2, read: 1 });
  }, 10 * MINUTE);

  test('one changed prop is exactly one update', async () => {
    await stack.setConfig('secure-temporal:values', { value: JSON.stringify({ history: { replicas: 2 } }) });
    const preview = await stack.preview();
    expect(preview.changeSummary).toEqual({ same: objects.length + 1, update: 1, read: 1 });
    const result = await stack.up({ onOutput: (line) => logs.push(line) });
    expect(result.summary.resourceChanges).toEqual({ same: objects.length + 1, update: 1, read: 1 });
    const history = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-history'))!;
    const live = JSON.parse(cluster.kubectl(['get', 'deployment', history.metadata.name, '-n', history.metadata.namespace!, '-o', 'json'])) as
      { spec: { replicas: number } };
    expect(live.spec.replicas).toBe(2);
  }, 10 * MINUTE);

  test('destroy leaves nothing', async () => {
    const result = await stack.destroy({ onOutput: (line) => logs.push(line) });
    expect(result.summary.result).toBe('succeeded');
    const deadline = Date.now() + 3 * MINUTE;
    let left = liveObjects();
    while (left.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      left = liveObjects();
    }
    expect([...left.keys()]).toEqual([]);
    expect(cluster.tryKubectl(['get', 'namespace', 'temporal'])).toBeUndefined();
  }, 10 * MINUTE);
});

describe('the stacks/ project as the Pulumi CLI reads it', () => {
  test('Pulumi.yaml loads: a stack is made, and its config schema gives the defaults', () => {
    const binDir = findPeers().binDir;
    const dir = mkdtempSync(join(tmpdir(), 'secure-temporal-project-'));
    const project = join(dir, 'project');
    mkdirSync(project);
    copyFileSync(join(root, 'stacks', 'Pulumi.yaml'), join(project, 'Pulumi.yaml'));
    const env = {
      ...process.env,
      PATH: [binDir, process.env.PATH ?? ''].join(delimiter),
      PULUMI_HOME: join(dir, 'home'),
      PULUMI_BACKEND_URL: `file://${dir}`,
      PULUMI_CONFIG_PASSPHRASE: 'e2e-only',
      PULUMI_SKIP_UPDATE_CHECK: 'true',
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    };
    const pulumi = (...args: string[]): string => execFileSync(join(binDir, 'pulumi'), args, { cwd: project, env, encoding: 'utf8', stdio: 'pipe' });
    try {
      pulumi('stack', 'init', 'dev');
      pulumi('config', 'set', 'secure-temporal:valuesFile', '../examples/values/workers.yaml');
      const config = JSON.parse(pulumi('config', '--json')) as Record<string, { value?: string }>;
      expect(config['secure-temporal:certificates']?.value).toBe('cert-manager');
      expect(config['secure-temporal:valuesFile']?.value).toBe('../examples/values/workers.yaml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 5 * MINUTE);
});
