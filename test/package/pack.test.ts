/**
 * The package as a user gets it: `npm pack` (which builds it), then a fresh cdk8s app in a temporary folder
 * installs the tarball next to cdk8s, cdk8s-plus-27 and constructs versions other than the repository's (within
 * the peer ranges), compiles the README's library example as written with strict type checking, runs it, and
 * reads what it synthesized. Slow tier (`npm run test:package`): it packs, and installs from the npm registry.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = join(__dirname, '..', '..');
/** In the peer ranges, and different from the repository's own (devDependencies). */
const APP_VERSIONS = { 'cdk8s': '2.70.0', 'cdk8s-plus-27': '2.9.0', 'constructs': '10.4.2' } as const;
const MINUTES = 60_000;

function readme(): string {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const match = /```ts\n([\s\S]*?)```/.exec(text.slice(text.indexOf('## Use it as a library')));
  if (!match) {
    throw new Error('README has no TypeScript example under "Use it as a library"');
  }
  return match[1];
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: 'pipe', timeout: 10 * MINUTES });
  } catch (e) {
    const error = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  }
}

describe('the packed package, installed into a fresh app', () => {
  let work: string;
  let app: string;
  let files: string[];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'secure-temporal-pack-'));
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root)) as { filename: string; files: { path: string }[] }[];
    files = packed[0].files.map((f) => f.path);
    app = join(work, 'app');
    run('mkdir', ['-p', app], work);
    writeFileSync(join(app, 'package.json'), JSON.stringify({
      name: 'temporal-gitops', version: '1.0.0', private: true,
      dependencies: { ...APP_VERSIONS, 'secure-temporal': `file:${join(work, packed[0].filename)}` },
    }, null, 2));
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app);
    writeFileSync(join(app, 'main.ts'), readme());
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, esModuleInterop: true, types: [], outDir: 'out' },
      files: ['main.ts'],
    }, null, 2));
  }, 15 * MINUTES);

  afterAll(() => {
    if (work) {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('does ship the compiled library with its declarations, and no tests or sources', () => {
    expect(files).toEqual(expect.arrayContaining(['build/index.js', 'build/index.d.ts', 'build/lib/index.d.ts',
      'build/charts/secure-temporal-chart.d.ts', 'build/imports/cert-manager.io.js', 'package.json', 'README.md']));
    expect(files.filter((f) => f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  });

  it('does resolve one copy of cdk8s, cdk8s-plus-27 and constructs: the app\'s', () => {
    for (const [name, version] of Object.entries(APP_VERSIONS)) {
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      expect([name, manifest.version]).toEqual([name, version]);
      expect([name, existsSync(join(app, 'node_modules', 'secure-temporal', 'node_modules', name))]).toEqual([name, false]);
    }
    expect(readdirSync(join(app, 'node_modules', 'secure-temporal'))).not.toContain('node_modules');
  });

  it('does compile the README example as written, strictly, against the shipped declarations', () => {
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app);
    expect(existsSync(join(app, 'out', 'main.js'))).toBe(true);
  });

  it('does synthesize the README example as written', () => {
    run(process.execPath, [join(app, 'out', 'main.js')], app, { CDK8S_OUTDIR: join(app, 'dist') });
    const docs = parseAllDocuments(readFileSync(join(app, 'dist', 'temporal.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    const kinds = new Set(docs.map((d) => d.kind));
    expect([...kinds]).toEqual(expect.arrayContaining(['Deployment', 'NetworkPolicy', 'Certificate', 'Ingress']));
    // The example's external database: no evaluation PostgreSQL; its client identity in namespace orders.
    expect(docs.filter((d) => d.kind === 'StatefulSet')).toEqual([]);
    expect(docs.some((d) => d.kind === 'Certificate' && d.metadata.namespace === 'orders' &&
      d.spec.secretName === 'orders-worker-temporal-tls')).toBe(true);
    // The authorizer proxy runs the program shipped in the package (build/services), byte for byte.
    const program = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('temporal-authorizer-proxy-program-'));
    expect(program?.data['authorizer-proxy.js']).toBe(readFileSync(join(root, 'build', 'services', 'authorizer-proxy.js'), 'utf8'));
    expect(files).toContain('build/services/authorizer-proxy.js');
    const grant = JSON.parse(docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'temporal-authorizer-proxy-policy')
      ?.data['policy.json'] ?? '{}') as { rules: { name: string; grants: Record<string, string> }[] };
    expect(grant.rules.find((r) => r.name === 'orders/orders-worker')?.grants).toEqual({ orders: 'write' });
    // The Web UI signs people in; the codec server ships its program and is published for their browsers.
    const web = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'temporal-web');
    const env = Object.fromEntries((web?.spec.template.spec.containers[0].env ?? [])
      .map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect([env.TEMPORAL_AUTH_ENABLED, env.TEMPORAL_CODEC_ENDPOINT]).toEqual(['true', 'https://codec.temporal.example.com']);
    const codec = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('temporal-codec-program-'));
    expect(codec?.data['codec-server.js']).toBe(readFileSync(join(root, 'build', 'services', 'codec-server.js'), 'utf8'));
    expect(docs.some((d) => d.kind === 'Ingress' && d.metadata.name === 'temporal-codec')).toBe(true);
  });

  it('does give workers the codec at secure-temporal/codec: the README\'s snippet compiles, and payloads round-trip', () => {
    const text = readFileSync(join(root, 'README.md'), 'utf8');
    const snippet = /```ts\n(import \{ EncryptionCodec[\s\S]*?)```/.exec(text)?.[1];
    expect(snippet).toBeDefined();
    writeFileSync(join(app, 'worker.ts'), `${snippet}\nexport { dataConverter };\n`);
    writeFileSync(join(app, 'tsconfig.worker.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, types: [], outDir: 'out-worker', skipLibCheck: false },
      files: ['worker.ts'],
    }));
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.worker.json')], app);
    const roundTrip = `
      const { EncryptionCodec, KeyRing } = require('secure-temporal/codec');
      const codec = new EncryptionCodec(new KeyRing({ k1: require('crypto').randomBytes(32) }, 'k1'));
      codec.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hi"') }])
        .then((p) => codec.decode(p).then((d) => console.log(Buffer.from(p[0].metadata.encoding).toString(), Buffer.from(d[0].data).toString())));`;
    expect(run(process.execPath, ['-e', roundTrip], app).trim()).toBe('binary/encrypted "hi"');
  });

  it('does ship the values command: `secure-temporal synth -f` as a user runs it, output equal to the TypeScript path', () => {
    const bin = join(app, 'node_modules', '.bin', 'secure-temporal');
    expect(existsSync(bin)).toBe(true);
    writeFileSync(join(app, 'values.yaml'), readFileSync(join(root, 'examples', 'values', 'workers.yaml'), 'utf8'));
    expect(run(bin, ['synth', '-f', 'values.yaml', '-o', 'values-dist'], app)).toContain('wrote');
    expect(readdirSync(join(app, 'values-dist')).sort()).toEqual(['kustomization.yaml', 'network-flows.mmd', 'temporal.k8s.yaml']);
    // The repository's own command gives the same bytes for the same file.
    const here = mkdtempSync(join(tmpdir(), 'values-here-'));
    run(process.execPath, [join(root, 'build', 'cli', 'main.js'), 'synth', '-f', join(root, 'examples', 'values', 'workers.yaml'), '-o', here], root);
    expect(readFileSync(join(app, 'values-dist', 'temporal.k8s.yaml'), 'utf8')).toBe(readFileSync(join(here, 'temporal.k8s.yaml'), 'utf8'));
    rmSync(here, { recursive: true, force: true });
    // A bad value: line and column, nothing written.
    writeFileSync(join(app, 'bad.yaml'), 'history:\n  replicas: three\n');
    let failure: { stderr?: string; status?: number } = {};
    try {
      execFileSync(bin, ['synth', '-f', 'bad.yaml', '-o', 'bad-dist'], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      failure = e as typeof failure;
    }
    expect(failure.status).toBe(1);
    expect(failure.stderr).toContain('bad.yaml:2:13: history.replicas: "three" is not number');
    expect(existsSync(join(app, 'bad-dist'))).toBe(false);
    // The schema for editors is in the package.
    const schema = run(bin, ['schema'], app).trim();
    expect(schema).toBe(join(app, 'node_modules', 'secure-temporal', 'schema', 'values.schema.json'));
    expect((JSON.parse(readFileSync(schema, 'utf8')) as { title: string }).title).toBe('secure-temporal values');
  });

  it('does run examples/gitops-app as a GitOps repository would: one kustomization per environment', () => {
    writeFileSync(join(app, 'gitops.ts'), readFileSync(join(root, 'examples', 'gitops-app', 'main.ts'), 'utf8'));
    writeFileSync(join(app, 'tsconfig.gitops.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, esModuleInterop: true, types: [], outDir: 'out-gitops' },
      files: ['gitops.ts'],
    }));
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.gitops.json')], app);
    const gitops = join(app, 'gitops');
    run('mkdir', ['-p', gitops], app);
    run(process.execPath, [join(app, 'out-gitops', 'gitops.js')], gitops);
    for (const [environment, namespace] of [['staging', 'temporal-staging'], ['production', 'temporal']]) {
      const dir = join(gitops, 'dist', environment);
      expect(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')).toContain('- temporal.k8s.yaml');
      const docs = parseAllDocuments(readFileSync(join(dir, 'temporal.k8s.yaml'), 'utf8')).map((d) => d.toJS());
      expect(docs.find((d) => d.kind === 'Namespace')?.metadata.name).toBe(namespace);
      expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
    }
  });

  it('does expose only the package entry point, not its internals', () => {
    const probe = 'try { require("secure-temporal/build/lib/tls/pki"); console.log("reachable"); } catch (e) { console.log(e.code); }';
    expect(run(process.execPath, ['-e', probe], app).trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    const entry = 'const s = require("secure-temporal"); console.log(typeof s.SecureTemporalChart, typeof s.TemporalPki, typeof s.Peer);';
    expect(run(process.execPath, ['-e', entry], app).trim()).toBe('function function object');
  });
});
