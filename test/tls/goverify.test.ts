/**
 * The trust model checked with Go's crypto/x509, the verifier the Temporal server itself runs: any
 * certificate in the pool is a root (a purpose CA needs no `-partial_chain` there), and the extended
 * key usage is checked along the chain. Skipped where no Go toolchain is installed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CaPurpose } from '../../lib/tls/trust';
import { NAMESPACE, synth, tlsFixture } from './fixtures';
import { file, openssl, scratch } from './openssl';
import { IssuanceSimulator, writeSecret } from './simulator';

// Builds a small Go program first: a generous budget, since a busy machine or a cold Go build cache can take minutes.
jest.setTimeout(5 * 60_000);

const hasGo = spawnSync('go', ['version']).status === 0;

(hasGo ? describe : describe.skip)('trust model under Go crypto/x509', () => {
  const fixture = tlsFixture();
  const sim = new IssuanceSimulator(synth(fixture));
  const dir = scratch('tls-go-');
  const binary = join(dir, 'goverify');
  const at = (ns: string, name: string, key = 'tls.crt') => join(dir, ns, name, key);
  const anchor = (purpose: CaPurpose) => {
    const source = fixture.pki.trustSources[purpose] as { secretName: string; key: string };
    return at(NAMESPACE, source.secretName, source.key);
  };
  const goVerify = (chain: string, anchors: string, usage: 'client' | 'server', host?: string) => {
    const run = spawnSync(binary, [chain, anchors, usage, ...(host ? [host] : [])], { encoding: 'utf8' });
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}`.trim() };
  };
  const bundle = (name: string, files: string[]) => file(dir, name, files.map((f) => openssl(['x509', '-in', f]).output).join(''));

  beforeAll(async () => {
    const build = spawnSync('go', ['build', '-o', binary, '.'], {
      cwd: join(__dirname, 'goverify'), encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    });
    if (build.status !== 0) {
      throw new Error(`go build failed: ${build.stderr}`);
    }
    await sim.issueAll();
    sim.writeTo(dir);
  });

  it('does accept the internode certificate on internode listeners, as client and as server by its serverName', () => {
    const leaf = at(NAMESPACE, 'temporal-internode-tls');
    expect(goVerify(leaf, anchor('internode'), 'client')).toEqual({ ok: true, output: 'OK' });
    expect(goVerify(leaf, anchor('internode'), 'server', fixture.internode.serverName).ok).toBe(true);
  });

  it('does refuse workload and platform-client certificates on internode listeners', () => {
    for (const leaf of [at('orders', 'orders-worker-temporal-tls'), at(NAMESPACE, 'temporal-web-client-tls')]) {
      expect(goVerify(leaf, anchor('internode'), 'client')).toEqual({ ok: false, output: 'x509: certificate signed by unknown authority' });
    }
  });

  it('does accept workloads at the frontend only without the authorizer proxy', () => {
    const direct = bundle('direct.pem', fixture.frontend.acceptsClientsFrom.map(anchor));
    const proxied = bundle('proxied.pem', (['internode', 'platform-clients'] as CaPurpose[]).map(anchor));
    const worker = at('orders', 'orders-worker-temporal-tls');
    expect(goVerify(worker, direct, 'client').ok).toBe(true);
    expect(goVerify(worker, proxied, 'client').ok).toBe(false);
    expect(goVerify(at(NAMESPACE, 'temporal-web-client-tls'), proxied, 'client').ok).toBe(true);
    expect(goVerify(at(NAMESPACE, 'temporal-internode-tls'), proxied, 'client').ok).toBe(true);
  });

  it('does verify the frontend for every name of its Service and refuse other names', () => {
    const leaf = at(NAMESPACE, 'temporal-frontend-tls');
    for (const host of fixture.frontend.dnsNames) {
      expect([host, goVerify(leaf, anchor('frontend'), 'server', host).ok]).toEqual([host, true]);
    }
    expect(goVerify(leaf, anchor('frontend'), 'server', 'temporal-frontend.other.svc').output).toMatch(/certificate is valid for/);
  });

  it('does refuse the workload trust carrier as a TLS client certificate (its key usage excludes TLS)', () => {
    const carrier = at(NAMESPACE, 'temporal-workload-ca-anchor-tls');
    expect(goVerify(carrier, anchor('workload'), 'client').output).toBe('x509: certificate specifies an incompatible key usage');
  });

  it('does refuse expired certificates and certificates of an unrelated PKI', async () => {
    const day = 86400e3;
    const expired = await sim.variant('orders', 'orders-worker-temporal-tls', { notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day) });
    expect(goVerify(join(writeSecret(scratch(), expired), 'tls.crt'), anchor('workload'), 'client').output).toMatch(/expired/);
    const other = new IssuanceSimulator(synth(tlsFixture()));
    await other.issueAll();
    const foreign = join(writeSecret(scratch(), other.secret('orders', 'orders-worker-temporal-tls')), 'tls.crt');
    expect(goVerify(foreign, anchor('workload'), 'client').ok).toBe(false);
  });

  it('does keep old leaves valid across a same-key CA renewal, and not across a CA key change', async () => {
    const leaf = at(NAMESPACE, 'temporal-internode-tls');
    const renewed = join(writeSecret(scratch(), await sim.variant(NAMESPACE, 'temporal-internode-ca', {})), 'tls.crt');
    expect(goVerify(leaf, renewed, 'client').ok).toBe(true);
    const rekeyed = join(writeSecret(scratch(), await sim.variant(NAMESPACE, 'temporal-internode-ca', { newKey: true })), 'tls.crt');
    expect(goVerify(leaf, rekeyed, 'client').ok).toBe(false);
  });
});
