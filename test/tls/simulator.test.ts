import { join } from 'node:path';
import { CaPurpose } from '../../lib/tls/trust';
import { NAMESPACE, ofKind, synth, tlsFixture, TlsFixture } from './fixtures';
import { extensions, field, file, openssl, scratch, verify } from './openssl';
import { IssuanceSimulator, IssuedSecret, writeSecret } from './simulator';


interface Issued {
  readonly fixture: TlsFixture;
  readonly sim: IssuanceSimulator;
  readonly dir: string;
  /** Directory of the Secret `namespace/name`. */
  readonly at: (namespace: string, name: string) => string;
  /** Path of the trust anchor file the pods of the Temporal namespace mount for `purpose`. */
  readonly anchor: (purpose: CaPurpose) => string;
}

async function issue(fixture: TlsFixture = tlsFixture()): Promise<Issued> {
  const sim = new IssuanceSimulator(synth(fixture));
  await sim.issueAll();
  const dir = scratch();
  sim.writeTo(dir);
  const at = (namespace: string, name: string) => join(dir, namespace, name);
  const anchor = (purpose: CaPurpose) => {
    const source = fixture.pki.trustSources[purpose];
    if (source === undefined || !('secretName' in source)) {
      throw new Error(`no Secret-backed anchor for ${purpose}`);
    }
    return join(at(NAMESPACE, source.secretName), source.key);
  };
  return { fixture, sim, dir, at, anchor };
}

/** A bundle file of several anchors (what a listener trusting several CAs loads). */
function bundle(dir: string, name: string, files: string[]): string {
  return file(dir, name, files.map((f) => openssl(['x509', '-in', f]).output).join(''));
}

describe('IssuanceSimulator', () => {
  let issued: Issued;
  beforeAll(async () => {
    issued = await issue();
  });

  it('does issue every Certificate of the synthesized PKI, CAs before what they sign', () => {
    const certificates = ofKind(synth(issued.fixture), 'Certificate');
    expect(issued.sim.all()).toHaveLength(certificates.length);
  });

  it('does shape Secrets like cert-manager: tls.crt without the self-signed root, ca.crt the top of the chain', () => {
    const s = (ns: string, name: string): IssuedSecret => issued.sim.secret(ns, name);
    const root = s(NAMESPACE, 'temporal-root-ca');
    expect(root.chain).toHaveLength(1);
    expect(root.ca?.equal(root.certificate)).toBe(true);
    const internodeCa = s(NAMESPACE, 'temporal-internode-ca');
    expect(internodeCa.chain.map((c) => c.subject)).toEqual([internodeCa.certificate.subject]);
    expect(internodeCa.ca?.equal(root.certificate)).toBe(true);
    const leaf = s(NAMESPACE, 'temporal-internode-tls');
    expect(leaf.chain.map((c) => c.subject)).toEqual([leaf.certificate.subject, internodeCa.certificate.subject]);
    // ca.crt of a leaf is the ROOT, not the issuing CA: which is why nothing here uses it as a trust anchor.
    expect(leaf.ca?.equal(root.certificate)).toBe(true);
    const workloadCa = s('cert-manager', 'temporal-workload-ca');
    const worker = s('orders', 'orders-worker-temporal-tls');
    expect(worker.chain).toHaveLength(1);
    expect(worker.ca?.equal(workloadCa.certificate)).toBe(true);
    const carrier = s(NAMESPACE, 'temporal-workload-ca-anchor-tls');
    expect(carrier.ca?.equal(workloadCa.certificate)).toBe(true);
  });

  it('does produce chains that openssl verifies up to their root', () => {
    const root = join(issued.at(NAMESPACE, 'temporal-root-ca'), 'ca.crt');
    for (const secret of ['temporal-internode-tls', 'temporal-frontend-tls', 'temporal-web-client-tls', 'temporal-internode-ca']) {
      const crt = join(issued.at(NAMESPACE, secret), 'tls.crt');
      expect(verify({ caFile: root, untrusted: crt, cert: crt })).toMatchObject({ ok: true });
    }
    const worker = join(issued.at('orders', 'orders-worker-temporal-tls'), 'tls.crt');
    const workloadCa = join(issued.at('orders', 'orders-worker-temporal-tls'), 'ca.crt');
    expect(verify({ caFile: workloadCa, cert: worker, purpose: 'sslclient' })).toMatchObject({ ok: true });
    expect(verify({ caFile: root, cert: worker }).ok).toBe(false);
  });

  it('does write the SANs, key usages and basic constraints of the spec (checked by openssl)', () => {
    const frontend = extensions(join(issued.at(NAMESPACE, 'temporal-frontend-tls'), 'tls.crt'));
    expect(frontend).toMatch(/DNS:temporal-frontend, DNS:temporal-frontend.temporal, DNS:temporal-frontend.temporal.svc, /);
    expect(frontend).toContain('DNS:temporal-frontend.temporal.svc.cluster.local, DNS:temporal.example.com');
    expect(frontend).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(frontend).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(frontend).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    const internode = extensions(join(issued.at(NAMESPACE, 'temporal-internode-tls'), 'tls.crt'));
    expect(internode).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    const worker = extensions(join(issued.at('orders', 'orders-worker-temporal-tls'), 'tls.crt'));
    expect(worker).toContain('URI:spiffe://cluster.local/ns/orders/temporal-client/orders-worker');
    expect(worker).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    const ca = extensions(join(issued.at(NAMESPACE, 'temporal-internode-ca'), 'tls.crt'));
    expect(ca).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(ca).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    const carrier = extensions(join(issued.at(NAMESPACE, 'temporal-workload-ca-anchor-tls'), 'tls.crt'));
    expect(carrier).toMatch(/Extended Key Usage:\s+E-mail Protection\n/);
  });

  it('does use the key algorithm, size and lifetime of the spec, with a PKCS#8 key that matches the certificate', () => {
    const dir = issued.at(NAMESPACE, 'temporal-frontend-tls');
    const text = openssl(['x509', '-in', join(dir, 'tls.crt'), '-noout', '-text']).output;
    expect(text).toContain('Public-Key: (256 bit)');
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    const start = Date.parse(field(join(dir, 'tls.crt'), 'startdate').replace('notBefore=', ''));
    const end = Date.parse(field(join(dir, 'tls.crt'), 'enddate').replace('notAfter=', ''));
    expect((end - start) / 3600e3).toBe(2160);
    expect(openssl(['pkey', '-in', join(dir, 'tls.key'), '-noout', '-text']).output).toContain('Private-Key: (256 bit)');
    expect(issued.sim.secret(NAMESPACE, 'temporal-frontend-tls').files['tls.key']).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(openssl(['pkey', '-in', join(dir, 'tls.key'), '-pubout']).output)
      .toBe(openssl(['x509', '-in', join(dir, 'tls.crt'), '-noout', '-pubkey']).output);
  });

  it('does issue RSA keys of the requested size when asked', async () => {
    // 2048 bits: the smallest accepted size, so the whole RSA chain is generated in a fraction of 3072's time.
    const rsa = await issue(tlsFixture({ privateKey: { algorithm: 'RSA', size: 2048 } }));
    const text = openssl(['x509', '-in', join(rsa.at(NAMESPACE, 'temporal-internode-tls'), 'tls.crt'), '-noout', '-text']).output;
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(extensions(join(rsa.at(NAMESPACE, 'temporal-internode-tls'), 'tls.crt'))).toMatch(/Digital Signature, Key Encipherment/);
  });
});

describe('IssuanceSimulator and the trust model (per-purpose anchors, verified by openssl)', () => {
  let issued: Issued;
  beforeAll(async () => {
    issued = await issue();
  });
  const crt = (ns: string, name: string) => join(issued.at(ns, name), 'tls.crt');

  it('does accept the internode certificate on internode ports, as client and as server', () => {
    const leaf = crt(NAMESPACE, 'temporal-internode-tls');
    for (const purpose of ['sslclient', 'sslserver'] as const) {
      expect(verify({ caFile: issued.anchor('internode'), cert: leaf, untrusted: leaf, partialChain: true, purpose }).ok).toBe(true);
    }
  });

  it('does reject workload and platform-client certificates on internode ports', () => {
    for (const [ns, name] of [['orders', 'orders-worker-temporal-tls'], [NAMESPACE, 'temporal-web-client-tls']]) {
      const leaf = crt(ns, name);
      expect(verify({ caFile: issued.anchor('internode'), cert: leaf, untrusted: leaf, partialChain: true }).ok).toBe(false);
    }
  });

  it('does accept workload certificates at the frontend only without the authorizer proxy', () => {
    const dir = scratch();
    const direct = bundle(dir, 'direct.pem', issued.fixture.frontend.acceptsClientsFrom.map(issued.anchor));
    const proxied = bundle(dir, 'proxied.pem', (['internode', 'platform-clients'] as CaPurpose[]).map(issued.anchor));
    const worker = crt('orders', 'orders-worker-temporal-tls');
    expect(verify({ caFile: direct, cert: worker, partialChain: true, purpose: 'sslclient' }).ok).toBe(true);
    expect(verify({ caFile: proxied, cert: worker, partialChain: true, purpose: 'sslclient' }).ok).toBe(false);
    const web = crt(NAMESPACE, 'temporal-web-client-tls');
    expect(verify({ caFile: proxied, cert: web, untrusted: web, partialChain: true, purpose: 'sslclient' }).ok).toBe(true);
  });

  it('does verify the frontend against the frontend CA for every name of its Service, and not for other names', () => {
    const leaf = crt(NAMESPACE, 'temporal-frontend-tls');
    for (const host of issued.fixture.frontend.dnsNames) {
      expect(verify({ caFile: issued.anchor('frontend'), cert: leaf, untrusted: leaf, partialChain: true,
        purpose: 'sslserver', verifyHostname: host }).ok).toBe(true);
    }
    expect(verify({ caFile: issued.anchor('frontend'), cert: leaf, untrusted: leaf, partialChain: true,
      verifyHostname: 'temporal-history-headless.temporal.svc.cluster.local' }).ok).toBe(false);
    // A client certificate is no server certificate, whatever CA it chains to.
    const web = crt(NAMESPACE, 'temporal-web-client-tls');
    expect(verify({ caFile: issued.anchor('platform-clients'), cert: web, untrusted: web, partialChain: true, purpose: 'sslserver' }).ok)
      .toBe(false);
  });
});

describe('IssuanceSimulator rotation and bad certificates', () => {
  it('does re-issue a leaf with a new key that still verifies against the same anchor', async () => {
    const issued = await issue();
    const before = issued.sim.secret(NAMESPACE, 'temporal-internode-tls');
    const after = await issued.sim.reissue(NAMESPACE, 'temporal-internode-tls');
    expect(Buffer.from(after.certificate.publicKey.rawData).equals(Buffer.from(before.certificate.publicKey.rawData))).toBe(false);
    const dir = writeSecret(scratch(), after);
    const leaf = join(dir, 'tls.crt');
    expect(verify({ caFile: issued.anchor('internode'), cert: leaf, untrusted: leaf, partialChain: true }).ok).toBe(true);
  });

  it('does keep the CA key on CA renewal (rotationPolicy Never), so leaves signed before still verify', async () => {
    const issued = await issue();
    const oldLeaf = join(issued.at(NAMESPACE, 'temporal-internode-tls'), 'tls.crt');
    const renewed = await issued.sim.reissue(NAMESPACE, 'temporal-internode-ca');
    const anchor = join(writeSecret(scratch(), renewed), 'tls.crt');
    expect(field(anchor, 'serial')).not.toBe(field(issued.anchor('internode'), 'serial'));
    expect(verify({ caFile: anchor, cert: oldLeaf, partialChain: true }).ok).toBe(true);
  });

  it('does break leaves signed before when a CA key is replaced (the outage the overlap procedure avoids)', async () => {
    const issued = await issue();
    const oldLeaf = join(issued.at(NAMESPACE, 'temporal-internode-tls'), 'tls.crt');
    const rekeyed = await issued.sim.reissue(NAMESPACE, 'temporal-internode-ca', { newKey: true });
    const dir = scratch();
    const newAnchor = join(writeSecret(dir, rekeyed), 'tls.crt');
    expect(verify({ caFile: newAnchor, cert: oldLeaf, partialChain: true }).ok).toBe(false);
    // Overlap: trusting old + new CA accepts leaves of both, until every leaf is re-issued.
    const overlap = bundle(dir, 'overlap.pem', [issued.anchor('internode'), newAnchor]);
    const newLeaf = join(writeSecret(scratch(), await issued.sim.reissue(NAMESPACE, 'temporal-internode-tls')), 'tls.crt');
    expect(verify({ caFile: overlap, cert: oldLeaf, partialChain: true }).ok).toBe(true);
    expect(verify({ caFile: overlap, cert: newLeaf, untrusted: newLeaf, partialChain: true }).ok).toBe(true);
  });

  it('does issue expired certificates that openssl rejects as expired', async () => {
    const issued = await issue();
    const day = 86400e3;
    const expired = await issued.sim.variant('orders', 'orders-worker-temporal-tls',
      { notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day) });
    const leaf = join(writeSecret(scratch(), expired), 'tls.crt');
    const result = verify({ caFile: issued.anchor('workload'), cert: leaf, partialChain: true });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/certificate has expired/);
  });

  it('does issue certificates of an unrelated second PKI with the same names, which the first PKI rejects', async () => {
    const first = await issue();
    const second = await issue();
    const foreign = join(second.at('orders', 'orders-worker-temporal-tls'), 'tls.crt');
    expect(field(foreign, 'subject')).toBe(field(join(first.at('orders', 'orders-worker-temporal-tls'), 'tls.crt'), 'subject'));
    expect(verify({ caFile: first.anchor('workload'), cert: foreign, partialChain: true }).ok).toBe(false);
  });

  it('does issue a certificate whose key does not match', async () => {
    const issued = await issue();
    const bad = await issued.sim.variant('orders', 'orders-worker-temporal-tls', { mismatchedKey: true });
    const dir = writeSecret(scratch(), bad);
    expect(openssl(['pkey', '-in', join(dir, 'tls.key'), '-pubout']).output)
      .not.toBe(openssl(['x509', '-in', join(dir, 'tls.crt'), '-noout', '-pubkey']).output);
    // The issued Secret itself is untouched.
    const good = issued.at('orders', 'orders-worker-temporal-tls');
    expect(openssl(['pkey', '-in', join(good, 'tls.key'), '-pubout']).output)
      .toBe(openssl(['x509', '-in', join(good, 'tls.crt'), '-noout', '-pubkey']).output);
  });

  it('fails when an issuer does not resolve', async () => {
    const objects = synth(tlsFixture()).filter((o) => !(o.kind === 'ClusterIssuer'));
    await expect(new IssuanceSimulator(objects).issueAll()).rejects.toThrow(/cannot issue.*orders\/orders-worker-temporal/);
  });
});
