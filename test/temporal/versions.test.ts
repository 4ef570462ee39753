import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import fc from 'fast-check';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { run } from '../../cli/main';
import { TEMPORAL_VERSION } from '../../lib/core/images';
import { SCHEMA_VERSION_ANNOTATION, SERVER_VERSION_ANNOTATION } from '../../lib/core/labels';
import {
  checkUpgrade, imageTagVersion, parseServerVersion, resolveServerVersion, SERVER_RELEASES, ServerVersion,
} from '../../lib/temporal/versions';
import { K8sObject, apiObjectsUnder, expectValidationError, findAll } from '../util';

const CLUSTER_PATH = 'temporal/Cluster';

function chartObjects(props: SecureTemporalChartProps): K8sObject[] {
  return Testing.synth(new SecureTemporalChart(Testing.app(), 'temporal', props)) as K8sObject[];
}

const v = (text: string): ServerVersion => {
  const parsed = parseServerVersion(text);
  if (parsed === undefined) {
    throw new Error(`not a version: ${text}`);
  }
  return parsed;
};

interface Workload { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: {
  strategy?: { rollingUpdate?: { maxUnavailable?: number; maxSurge?: number } };
  template: { metadata: { annotations?: Record<string, string> }; spec: { containers: { image: string; command?: string[] }[];
    initContainers?: { image: string }[] } } } }

const serverDeployments = (objs: K8sObject[]): Workload[] => (findAll(objs, 'Deployment') as unknown as Workload[])
  .filter((d) => d.spec.template.spec.containers[0].command?.[0] === 'temporal-server');
const schemaJobs = (objs: K8sObject[]): Workload[] => (findAll(objs, 'Job') as unknown as Workload[])
  .filter((j) => j.metadata.name.includes('-schema-'));

describe('server versions', () => {
  it('parses major.minor.patch and nothing else', () => {
    expect(parseServerVersion('1.31.2')).toEqual({ major: 1, minor: 31, patch: 2, text: '1.31.2' });
    expect(parseServerVersion('10.100.2')).toEqual({ major: 10, minor: 100, patch: 2, text: '10.100.2' });
    expect(parseServerVersion('1.30.0')?.patch).toBe(0);
    for (const bad of ['1.031.2', '01.31.2', '1.31.02', 'v1.31.2', '1.31', '1.31.2.1', '1.31.x', ' 1.31.2', '1.31.2-rc1', '', 131, undefined, null,
      { toString: () => '1.31.2' }]) {
      expect(parseServerVersion(bad)).toBeUndefined();
    }
  });

  it('reads the version an image tag names, and none from a tag that names none', () => {
    expect(imageTagVersion('temporalio/server:1.30.8')?.text).toBe('1.30.8');
    expect(imageTagVersion('registry.example:5000/mirror/temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.4.1')?.text).toBe('1.29.1');
    expect(imageTagVersion('temporalio/server:v1.31.2')?.text).toBe('1.31.2');
    expect(imageTagVersion(`temporalio/server:1.31.2@sha256:${'a'.repeat(64)}`)?.text).toBe('1.31.2');
    expect(imageTagVersion(`temporalio/server@sha256:${'a'.repeat(64)}`)).toBeUndefined();
    expect(imageTagVersion('registry.example:5000/temporal:prod-2026')).toBeUndefined();
    expect(imageTagVersion('temporalio/server:1.31.20')?.text).toBe('1.31.20');
    expect(imageTagVersion('temporalio/server:10.1.2')?.text).toBe('10.1.2');
    // A version later in the tag, or a repository named like a version, is no version of the image.
    expect(imageTagVersion('temporalio/server:prod-1.30.8')).toBeUndefined();
    expect(imageTagVersion('mirror.example/1.30.8')).toBeUndefined();
  });

  it('knows the schema versions of each release line it deploys (read from the server source of the named patch)', () => {
    expect(SERVER_RELEASES).toEqual([
      { minor: '1.30', schema: { default: '1.18', visibility: '1.13' }, checkedAt: '1.30.8', workerServesGrpc: false },
      { minor: '1.31', schema: { default: '1.19', visibility: '1.14' }, checkedAt: '1.31.2', workerServesGrpc: true },
    ]);
    expect(resolveServerVersion('p', {}).release.minor).toBe(TEMPORAL_VERSION.split('.').slice(0, 2).join('.'));
  });

  it('defaults to TEMPORAL_VERSION, with images of that version', () => {
    const resolved = resolveServerVersion('p', {});
    expect(resolved.version.text).toBe(TEMPORAL_VERSION);
    expect(resolved.serverImage).toBe(`temporalio/server:${TEMPORAL_VERSION}`);
    expect(resolved.adminToolsImage).toBe(`temporalio/admin-tools:${TEMPORAL_VERSION}`);
  });

  it('deploys the previous line with its own images', () => {
    const resolved = resolveServerVersion('p', { serverVersion: '1.30.8' });
    expect([resolved.serverImage, resolved.adminToolsImage, resolved.release.schema])
      .toEqual(['temporalio/server:1.30.8', 'temporalio/admin-tools:1.30.8', { default: '1.18', visibility: '1.13' }]);
  });

  it.each([
    ['serverVersion', 'v1.31.2', 'no "v" prefix'],
    ['runningServerVersion', '1.30', 'as `temporal operator cluster system` reports it'],
  ] as const)('refuses a %s that is not major.minor.patch (%s), naming the field and the fix', (field, value, fix) => {
    const error = expectValidationError(() => resolveServerVersion('p', { [field]: value }), 'INVALID_VERSION',
      { path: 'p', value: JSON.stringify(value) });
    expect(error.message).toContain(`${field} must be a Temporal server version major.minor.patch`);
    expect(error.fix).toContain(fix);
  });

  it('refuses a release line it does not deploy, listing those it does', () => {
    const error = expectValidationError(() => resolveServerVersion('p', { serverVersion: '1.29.4' }), 'INVALID_VERSION',
      { path: 'p', value: '"1.29.4"' });
    expect(error.message).toContain('serverVersion 1.29.4 is not a release line this chart deploys (1.30.x, 1.31.x)');
    expect(error.fix).toBe(`choose a version of 1.30.x, 1.31.x, e.g. "${TEMPORAL_VERSION}"; an older cluster is upgraded one minor at a time ` +
      'with the release of this package that deploys its next minor');
    expectValidationError(() => resolveServerVersion('p', { serverVersion: '1.32.0' }), 'INVALID_VERSION', { path: 'p' });
  });

  it('refuses images whose tag names another version than serverVersion; accepts digests and tags that name none', () => {
    const server = expectValidationError(() => resolveServerVersion('p', { serverImage: 'temporalio/server:1.30.8' }), 'INVALID_IMAGE',
      { path: 'p', value: '"temporalio/server:1.30.8"' });
    expect(server.fix).toBe(`set serverVersion to "1.30.8", or serverImage to an image of ${TEMPORAL_VERSION}`);
    const tools = expectValidationError(() => resolveServerVersion('p', { serverVersion: '1.30.8', adminToolsImage: 'temporalio/admin-tools:1.31.2' }),
      'INVALID_IMAGE', { path: 'p' });
    expect(tools.message).toContain('adminToolsImage is version 1.31.2 but serverVersion is 1.30.8 (the admin tools install the ' +
      'schema of their own release, and the server checks for it)');
    const digest = `mirror.example/temporal/server@sha256:${'b'.repeat(64)}`;
    expect(resolveServerVersion('p', { serverVersion: '1.30.8', serverImage: digest, adminToolsImage: 'mirror.example/tools:prod' }))
      .toMatchObject({ serverImage: digest, adminToolsImage: 'mirror.example/tools:prod', release: { minor: '1.30' } });
  });

  it('refuses an image that is not pinned before reading a version from it, even with serverVersion said', () => {
    for (const props of [{ serverImage: 'temporalio/server:latest' }, { serverVersion: '1.31.2', serverImage: 'temporalio/server' },
      { serverVersion: '1.31.2', adminToolsImage: 'temporalio/admin-tools:latest' }]) {
      const error = expectValidationError(() => resolveServerVersion('p', props), 'INVALID_IMAGE', { path: 'p' });
      expect(error.message).toMatch(/(serverImage|adminToolsImage) must be pinned to an exact tag or digest/);
    }
  });

  it('refuses an image whose tag names no version unless serverVersion says which release it runs', () => {
    const digest = `mirror.example/temporal/server@sha256:${'b'.repeat(64)}`;
    const server = expectValidationError(() => resolveServerVersion('p', { serverImage: digest }), 'INVALID_VERSION',
      { path: 'p', value: JSON.stringify(digest) });
    expect(server.message).toContain('serverImage names no version, so serverVersion must say which release it runs');
    expect(server.fix).toBe(`set serverVersion to the release of serverImage, e.g. "${TEMPORAL_VERSION}"`);
    const tools = expectValidationError(() => resolveServerVersion('p', { adminToolsImage: 'mirror.example/tools:prod' }), 'INVALID_VERSION',
      { path: 'p' });
    expect(tools.message).toContain('adminToolsImage names no version');
    expect(() => resolveServerVersion('p', { serverImage: 'mirror.example/temporalio/server:1.31.2' })).not.toThrow();
  });

  describe('the running version (upgrades and rollbacks)', () => {
    it('allows the same minor, the next one, and a rollback to the previous one', () => {
      for (const [running, target] of [['1.30.8', '1.31.2'], ['1.31.0', '1.31.2'], ['1.31.2', '1.31.0'], ['1.31.2', '1.30.8'],
        ['1.29.3', '1.30.8']]) {
        expect(() => resolveServerVersion('p', { serverVersion: target, runningServerVersion: running })).not.toThrow();
      }
    });

    it('refuses a jump of two minors up, with the intermediate deployment as the fix', () => {
      const error = expectValidationError(() => resolveServerVersion('p', { runningServerVersion: '1.29.3' }), 'INVALID_UPGRADE',
        { path: 'p', value: `"${TEMPORAL_VERSION}"` });
      expect(error.message).toContain('2 minors ahead of the running 1.29.3');
      expect(error.fix).toBe('first deploy serverVersion 1.30.x with runningServerVersion "1.29.3" and let it converge (schema Jobs ' +
        `Complete, every Deployment Available), then deploy ${TEMPORAL_VERSION} with runningServerVersion set to the 1.30 patch you deployed`);
    });

    it('refuses going back two minors, and another major', () => {
      const back = expectValidationError(() => resolveServerVersion('p', { serverVersion: '1.30.8', runningServerVersion: '1.32.1' }),
        'INVALID_UPGRADE', { path: 'p' });
      expect(back.message).toContain('serverVersion 1.30.8 is 2 minors behind the running 1.32.1');
      expect(back.fix).toContain('to 1.31.x');
      const major = expectValidationError(() => resolveServerVersion('p', { runningServerVersion: '2.31.2' }), 'INVALID_UPGRADE',
        { path: 'p' });
      expect(major.message).toContain(`serverVersion ${TEMPORAL_VERSION} changes the major version of the running 2.31.2`);
      expect(major.fix).toBe('stay on 2.x: upgrade one minor at a time');
    });

    it('accepts exactly the targets within one minor of the running version (property)', () => {
      fc.assert(fc.property(fc.nat(40), fc.nat(40), fc.nat(20), fc.nat(20), (runningMinor, targetMinor, p1, p2) => {
        const running = v(`1.${runningMinor}.${p1}`);
        const target = v(`1.${targetMinor}.${p2}`);
        let refused = false;
        try {
          checkUpgrade('p', running, target);
        } catch {
          refused = true;
        }
        return refused === Math.abs(targetMinor - runningMinor) > 1;
      }));
    });
  });

  describe('in the chart', () => {
    it('runs every server, schema Job and admin tool of the chosen release, and says which on each pod', () => {
      const objs = chartObjects({ serverVersion: '1.30.8' });
      const servers = serverDeployments(objs);
      expect(servers.map((d) => d.metadata.name).sort()).toEqual(['temporal-frontend', 'temporal-history', 'temporal-internal-frontend',
        'temporal-matching', 'temporal-worker']);
      for (const d of servers) {
        expect(d.spec.template.spec.containers[0].image).toBe('temporalio/server:1.30.8');
        expect(d.spec.template.metadata.annotations?.[SERVER_VERSION_ANNOTATION]).toBe('1.30.8');
      }
      const jobs = schemaJobs(objs);
      expect(jobs.map((j) => [j.metadata.name.replace(/-[0-9a-f]+$/, ''), j.metadata.annotations?.[SCHEMA_VERSION_ANNOTATION],
        j.spec.template.metadata.annotations?.[SERVER_VERSION_ANNOTATION]]).sort())
        .toEqual([['temporal-schema-default', '1.18', '1.30.8'], ['temporal-schema-visibility', '1.13', '1.30.8']]);
      const toolImages = (findAll(objs, 'Deployment') as unknown as Workload[]).concat(findAll(objs, 'Job') as unknown as Workload[])
        .flatMap((w) => [...w.spec.template.spec.containers, ...(w.spec.template.spec.initContainers ?? [])])
        .map((c) => c.image).filter((i) => i.startsWith('temporalio/admin-tools'));
      expect(toolImages.length).toBeGreaterThan(3);
      expect(new Set(toolImages)).toEqual(new Set(['temporalio/admin-tools:1.30.8']));
    });

    it('gives an upgrade new schema Jobs (new names) with the next schema versions', () => {
      const before = schemaJobs(chartObjects({ serverVersion: '1.30.8' }));
      const after = schemaJobs(chartObjects({ serverVersion: '1.31.2', runningServerVersion: '1.30.8' }));
      expect(after.map((j) => j.metadata.annotations?.[SCHEMA_VERSION_ANNOTATION]).sort()).toEqual(['1.14', '1.19']);
      for (const job of after) {
        expect(before.map((j) => j.metadata.name)).not.toContain(job.metadata.name);
      }
    });

    it('probes the port each service of the release listens on: the worker of 1.30 serves membership only', () => {
      const probes = (version: string) => Object.fromEntries((serverDeployments(chartObjects({ serverVersion: version })) as unknown as
        { metadata: { name: string }; spec: { template: { spec: { containers: { readinessProbe?: { tcpSocket?: { port: string } };
          livenessProbe?: { tcpSocket?: { port: string } }; startupProbe?: { tcpSocket?: { port: string } } }[] } } } }[])
        .map((d) => {
          const c = d.spec.template.spec.containers[0];
          const ports = new Set([c.readinessProbe, c.livenessProbe, c.startupProbe].map((p) => p?.tcpSocket?.port));
          return [d.metadata.name.replace('temporal-', ''), [...ports].join(',')];
        }));
      expect(probes('1.31.2')).toEqual({ 'frontend': 'grpc-rpc', 'internal-frontend': 'grpc-rpc', 'history': 'grpc-rpc', 'matching': 'grpc-rpc',
        'worker': 'grpc-rpc' });
      expect(probes('1.30.8')).toEqual({ 'frontend': 'grpc-rpc', 'internal-frontend': 'grpc-rpc', 'history': 'grpc-rpc', 'matching': 'grpc-rpc',
        'worker': 'grpc-membership' });
    });

    it('rolls server pods without taking an old one down before a new one is Ready', () => {
      for (const d of serverDeployments(chartObjects({}))) {
        expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      }
    });

    it('refuses a jump of two minors at construction, leaving nothing behind', () => {
      const app = Testing.app();
      let thrown: unknown;
      try {
        new SecureTemporalChart(app, 'temporal', { runningServerVersion: '1.29.0' });
      } catch (e) {
        thrown = e;
      }
      expect((thrown as { code?: string }).code).toBe('INVALID_UPGRADE');
      expect((thrown as Error).message.startsWith(`${CLUSTER_PATH}: `)).toBe(true);
      expect(app.node.children.flatMap((c) => apiObjectsUnder(c))).toEqual([]);
    });
  });

  describe('in a values file (secure-temporal synth)', () => {
    const synthValues = (values: string): { status: number; out: string; err: string } => {
      const dir = mkdtempSync(join(tmpdir(), 'versions-values-'));
      writeFileSync(join(dir, 'values.yaml'), values);
      const out: string[] = [];
      const err: string[] = [];
      const status = run(['synth', '-f', join(dir, 'values.yaml'), '-o', join(dir, 'out')], (l) => out.push(l), (l) => err.push(l));
      const manifests = status === 0 ? readFileSync(join(dir, 'out', 'temporal.k8s.yaml'), 'utf8') : '';
      return { status, out: manifests, err: err.join('\n') };
    };

    it('deploys serverVersion, and refuses runningServerVersion two minors back with the field and the fix', () => {
      const ok = synthValues('serverVersion: 1.30.8\nrunningServerVersion: 1.29.9\n');
      expect(ok.status).toBe(0);
      expect(ok.out).toContain('image: temporalio/server:1.30.8');
      const refused = synthValues('runningServerVersion: 1.29.9\n');
      expect(refused.status).toBe(1);
      expect(refused.err).toContain('2 minors ahead of the running 1.29.9');
      expect(refused.err).toContain('first deploy serverVersion 1.30.x with runningServerVersion "1.29.9"');
    });

    it('refuses a version with a v prefix, naming the field', () => {
      const refused = synthValues('serverVersion: v1.31.2\n');
      expect(refused.status).toBe(1);
      expect(refused.err).toContain('serverVersion');
    });
  });
});
