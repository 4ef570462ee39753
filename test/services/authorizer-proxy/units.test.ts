import { PassThrough } from 'node:stream';
import { loggers } from '../../../services/security/observability';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { filterNamespaceList, MalformedRequest, stringField } from '../../../services/authorizer-proxy/namespace';
import { temporal } from '@temporalio/proto';
import { TokenSigner } from '../../../services/authorizer-proxy/signer';
import { request } from './harness';
import { signingKeyPem } from './signing-key';
import { issue } from './test-pki';

describe('stringField', () => {
  it('does read the namespace from the field the message keeps it in, the last occurrence winning', () => {
    expect(stringField(request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'w', identity: 'x' }), 1)).toBe('orders');
    const respond = request('RespondWorkflowTaskCompletedRequest', { taskToken: Buffer.from([1, 2, 3]), identity: 'me', namespace: 'billing' });
    expect(stringField(respond, 9)).toBe('billing');
    expect(stringField(respond, 1)).not.toBe('billing');
    expect(stringField(request('GetSystemInfoRequest', {}), 1)).toBeUndefined();
    expect(stringField(Buffer.concat([request('DescribeNamespaceRequest', { namespace: 'a' }),
      request('DescribeNamespaceRequest', { namespace: 'b' })]), 1)).toBe('b');
    expect(stringField(Buffer.alloc(0), 1)).toBeUndefined();
  });

  it.each([
    ['a truncated length', [0x0a, 0x05, 0x61]],
    ['a truncated varint', [0x08, 0x80]],
    ['field number 0', [0x02, 0x00]],
    ['an unsupported wire type', [0x0b]],
  ])('fails on %s', (_what, bytes) => {
    expect(() => stringField(Buffer.from(bytes), 1)).toThrow(MalformedRequest);
  });
});

describe('TokenSigner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'signer-'));
  const keyFile = join(dir, 'tls.key');

  it('does sign with a rotated key only after the publish delay, and keep the old key published while its tokens live', async () => {
    writeFileSync(keyFile, signingKeyPem());
    let now = 1_000_000_000_000;
    const signer = await TokenSigner.create({ keyFile, issuer: 'p', audience: 'a', ttlSeconds: 300, publishDelaySeconds: 120, now: () => now });
    const first = signer.kid;
    expect(decodeProtectedHeader(await signer.mint('s', ['x:read'])).kid).toBe(first);
    writeFileSync(keyFile, signingKeyPem());
    expect(await signer.reload()).toBe(true);
    expect(await signer.reload()).toBe(false);
    const [, second] = signer.jwks().keys.map((k) => k.kid);
    expect(decodeProtectedHeader(await signer.mint('s', ['x:write'])).kid).toBe(first);
    now += 121_000;
    expect(decodeProtectedHeader(await signer.mint('s', ['x:write'])).kid).toBe(second);
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([first, second]);
    now += 301_000;
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([second]);
  });

  it('does switch to a new key at the same instant on every replica: the key certificate\'s notBefore plus the delay', async () => {
    const made = Date.parse('2026-11-29T12:00:00Z');
    const old = await issue({ commonName: 'old key' }, undefined, { notBefore: new Date(made - 86_400_000) });
    const fresh = await issue({ commonName: 'new key' }, undefined, { notBefore: new Date(made) });
    const replica = async (dirName: string) => {
      const d = mkdtempSync(join(tmpdir(), dirName));
      const files = { keyFile: join(d, 'tls.key'), certFile: join(d, 'tls.crt') };
      writeFileSync(files.keyFile, old.key);
      writeFileSync(files.certFile, old.cert);
      let now = made - 1000;
      const signer = await TokenSigner.create({ ...files, issuer: 'p', audience: 'a', ttlSeconds: 300, publishDelaySeconds: 150,
        now: () => now });
      return { signer, files, at: (t: number) => { now = t; } };
    };
    const [a, b] = [await replica('signer-a-'), await replica('signer-b-')];
    const oldKid = a.signer.kid;
    expect(a.signer.ready()).toBe(true);
    // The kubelet updates a's volume 10 s after the key was made, b's 100 s after.
    for (const [r, lag] of [[a, 10_000], [b, 100_000]] as const) {
      r.at(made + lag);
      writeFileSync(r.files.keyFile, fresh.key);
      writeFileSync(r.files.certFile, fresh.cert);
      expect(await r.signer.reload()).toBe(true);
      expect(r.signer.kid).toBe(oldKid);
      expect(r.signer.jwks().keys).toHaveLength(2);
    }
    for (const r of [a, b]) {
      r.at(made + 149_000);
      expect(r.signer.kid).toBe(oldKid);
      r.at(made + 150_000);
      expect(r.signer.kid).not.toBe(oldKid);
    }
    expect(a.signer.kid).toBe(b.signer.kid);
  });

  it('is not ready while its only key is younger than the publish delay (a replica started during a rotation)', async () => {
    const made = Date.parse('2026-11-29T12:00:00Z');
    const key = await issue({ commonName: 'new key' }, undefined, { notBefore: new Date(made) });
    const d = mkdtempSync(join(tmpdir(), 'signer-new-'));
    writeFileSync(join(d, 'tls.key'), key.key);
    writeFileSync(join(d, 'tls.crt'), key.cert);
    let now = made + 60_000;
    const signer = await TokenSigner.create({ keyFile: join(d, 'tls.key'), certFile: join(d, 'tls.crt'), issuer: 'p', audience: 'a',
      ttlSeconds: 300, publishDelaySeconds: 150, now: () => now });
    expect(signer.ready()).toBe(false);
    now = made + 150_000;
    expect(signer.ready()).toBe(true);
  });

  it('does reuse a token while more than half of its life is left', async () => {
    writeFileSync(keyFile, signingKeyPem());
    let now = 2_000_000_000_000;
    const signer = await TokenSigner.create({ keyFile, issuer: 'p', audience: 'a', ttlSeconds: 300, publishDelaySeconds: 0, now: () => now });
    const token = await signer.mint('s', ['x:read']);
    now += 100_000;
    expect(await signer.mint('s', ['x:read'])).toBe(token);
    expect(await signer.mint('s', ['x:write'])).not.toBe(token);
    now += 60_000;
    expect(await signer.mint('s', ['x:read'])).not.toBe(token);
  });

  it('fails on a key that is not EC P-256', async () => {
    writeFileSync(keyFile, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(TokenSigner.create({ keyFile, issuer: 'p', audience: 'a', ttlSeconds: 300, publishDelaySeconds: 0 }))
      .rejects.toThrow('the signing key must be an EC P-256 key (ES256)');
  });
});

describe('loggers', () => {
  it('does write audit lines whatever the log level says', async () => {
    const out = new PassThrough();
    const text: string[] = [];
    out.on('data', (chunk: Buffer) => text.push(chunk.toString()));
    const { log, audit } = loggers('authorizer-proxy', 'error', out);
    log.info('service message');
    audit.info({ audit: { api: 'StartWorkflowExecution' } }, 'call');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(text.join('')).not.toMatch(/service message/);
    expect(text.join('')).toMatch(/"audit":\{"api":"StartWorkflowExecution"\},"msg":"call"/);
  });
});

describe('filterNamespaceList', () => {
  const { ListNamespacesResponse } = temporal.api.workflowservice.v1;
  const response = ListNamespacesResponse.encode({
    namespaces: ['orders', 'billing', 'payments'].map((name) => ({ namespaceInfo: { name, description: `${name} team` },
      config: { workflowExecutionRetentionTtl: { seconds: 86400 } } })) as never,
    nextPageToken: Buffer.from('page-2'),
  }).finish();

  it('does keep only the namespaces the caller may see, every other byte as it came', () => {
    const narrowed = ListNamespacesResponse.decode(filterNamespaceList(response, (ns) => ns !== 'billing'));
    expect(narrowed.namespaces.map((n) => n.namespaceInfo?.name)).toEqual(['orders', 'payments']);
    expect(narrowed.namespaces[0].namespaceInfo?.description).toBe('orders team');
    expect(Number(narrowed.namespaces[1].config?.workflowExecutionRetentionTtl?.seconds)).toBe(86400);
    expect(Buffer.from(narrowed.nextPageToken).toString()).toBe('page-2');
    expect(filterNamespaceList(response, () => true).equals(Buffer.from(response))).toBe(true);
    expect(ListNamespacesResponse.decode(filterNamespaceList(response, () => false)).namespaces).toEqual([]);
  });

  it('does refuse bytes that are not a message', () => {
    expect(() => filterNamespaceList(Buffer.from([0x0a, 0x05, 0x01]), () => true)).toThrow(MalformedRequest);
  });
});
