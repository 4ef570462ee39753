/**
 * The codec server on loopback with real HTTPS: who may encode and decode, the attacks and bad inputs (each with
 * its status, and no plaintext in the reply or the log), CORS, limits, reloads.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { generateKeyPair, SignJWT } from 'jose';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { encryptPayload, KeyRing, payloadToJson } from '../../../lib/codec';
import { configFromEnv, CodecServerConfig } from '../../../services/codec-server/config';
import { RunningCodecServer, startCodecServer } from '../../../services/codec-server/server';
import { IDP_AUDIENCE, IDP_ISSUER, identityProvider } from '../authorizer-proxy/harness';
import { Issued, testPki, TestPki } from '../authorizer-proxy/test-pki';

const UI_ORIGIN = 'https://temporal.example.com';
const SECRET = 'SECRET-PLAINTEXT-4111-1111';
const POLICY: AuthorizerPolicy = { rules: [
  { name: 'reader', jwt: { subject: 'rita' }, grants: { orders: 'read' } },
  { name: 'writer', jwt: { subject: 'wally' }, grants: { orders: 'write' } },
  { name: 'worker', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/orders-worker' }, grants: { orders: 'write' } },
  { name: 'ops', jwt: { group: 'ops' }, grants: { 'temporal-system': 'read' } },
] };

let pki: TestPki;
let idp: Awaited<ReturnType<typeof identityProvider>>;
let server: RunningCodecServer;
let config: CodecServerConfig;
let logs = '';
let keysDir: string;
const keys = { k1: randomBytes(32), k2: randomBytes(32) };

function writeKeys(files: Record<string, string>): void {
  for (const [name, value] of Object.entries(files)) {
    writeFileSync(join(keysDir, name), value);
  }
}

beforeAll(async () => {
  pki = await testPki();
  idp = await identityProvider();
  keysDir = join(pki.dir, 'keys', 'orders');
  mkdirSync(keysDir, { recursive: true });
  writeKeys({ 'k1.key': keys.k1.toString('base64'), 'k2.key': keys.k2.toString('base64'), active: 'k1' });
  const serverCert = pki.proxyServer;
  config = configFromEnv({
    CODEC_LISTEN: '127.0.0.1:0',
    CODEC_HTTP_LISTEN: '127.0.0.1:0',
    CODEC_TLS_CERT_FILE: pki.file('codec.crt', serverCert.cert),
    CODEC_TLS_KEY_FILE: pki.file('codec.key', serverCert.key),
    CODEC_CLIENT_CA_FILES: pki.file('workload-ca.crt', pki.workloadCa.cert),
    CODEC_TRUST_DOMAIN: 'cluster.local',
    CODEC_KEYS_DIR: join(pki.dir, 'keys'),
    CODEC_POLICY_FILE: pki.file('policy.json', JSON.stringify(POLICY)),
    CODEC_OIDC_ISSUER: IDP_ISSUER,
    CODEC_OIDC_AUDIENCE: IDP_AUDIENCE,
    CODEC_OIDC_JWKS_URI: idp.jwksUri,
    CODEC_CORS_ORIGINS: UI_ORIGIN,
    CODEC_MAX_BODY_BYTES: String(64 * 1024),
    CODEC_MAX_PAYLOADS: '10',
    CODEC_RELOAD_SECONDS: '1',
  });
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
  });
  server = await startCodecServer(config, { destination });
});

afterAll(async () => {
  await server?.close();
  await idp?.stop();
});

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string; json?: Record<string, unknown> }

function call(path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; cert?: Issued;
  chunked?: boolean; holdBody?: boolean; noContentType?: boolean } = {}): Promise<Reply> {
  const client = options.cert ? { cert: options.cert.cert, key: options.cert.key } : {};
  const agent = new Agent({ ca: pki.frontendCa.cert + pki.root.cert, ...client, keepAlive: false });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: options.method ?? 'POST', agent,
      servername: 'localhost', headers: { ...(options.noContentType ? {} : { 'content-type': 'application/json' }), ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    if (options.holdBody) {
      // Headers only: the body never comes (the answer must not wait for it).
      req.flushHeaders();
    } else if (options.chunked) {
      req.write(options.body ?? '');
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

const plain = (value: unknown) => payloadToJson({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) });
const encrypted = (value: unknown, id: 'k1' | 'k2' = 'k1') => payloadToJson(encryptPayload(
  { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) }, new KeyRing(keys, id)));
const body = (payloads: unknown[]) => JSON.stringify({ payloads });
const token = (sub: string, claims: object = {}) => idp.sign({ sub, ...claims });
const asUser = async (sub: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${await token(sub)}`, 'x-namespace': 'orders', ...extra });

function decodedData(reply: Reply, i = 0): string {
  const payloads = reply.json?.payloads as { data: string }[];
  return Buffer.from(payloads[i].data, 'base64').toString();
}

describe('who may decode and encode', () => {
  test('a reader decodes: the same number of payloads back, plaintext restored, unencrypted ones unchanged', async () => {
    const reply = await call('/codec/decode', { headers: await asUser('rita'), body: body([encrypted({ card: SECRET }), plain('as is')]) });
    expect(reply.status).toBe(200);
    expect((reply.json?.payloads as unknown[]).length).toBe(2);
    expect(JSON.parse(decodedData(reply))).toEqual({ card: SECRET });
    expect(decodedData(reply, 1)).toBe('"as is"');
  });

  test('a writer encodes with the active key, and what it gets decodes again', async () => {
    const reply = await call('/encode', { headers: await asUser('wally'), body: body([plain({ card: SECRET })]) });
    expect(reply.status).toBe(200);
    const [payload] = reply.json?.payloads as { metadata: Record<string, string>; data: string }[];
    expect(Buffer.from(payload.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(payload.metadata['encryption-key-id'], 'base64').toString()).toBe('k1');
    expect(reply.body).not.toContain(Buffer.from(JSON.stringify({ card: SECRET })).toString('base64'));
    const back = await call('/decode', { headers: await asUser('rita'), body: body([payload]) });
    expect(JSON.parse(decodedData(back))).toEqual({ card: SECRET });
  });

  test('a read-only user asking to encode: 403', async () => {
    const reply = await call('/encode', { headers: await asUser('rita'), body: body([plain(SECRET)]) });
    expect(reply.status).toBe(403);
    expect(reply.json?.error).toBe('FORBIDDEN');
  });

  test('a user without a role on the namespace: 403, and nothing decoded', async () => {
    const reply = await call('/decode', { headers: await asUser('rita', { 'x-namespace': 'payments' }), body: body([encrypted(SECRET)]) });
    expect(reply.status).toBe(403);
    expect(reply.body).not.toContain(SECRET);
    const eve = await call('/decode', { headers: await asUser('eve'), body: body([encrypted(SECRET)]) });
    expect(eve.status).toBe(403);
  });

  test('a cluster-wide read (temporal-system) is honoured; Temporal permissions in a token are not, unless the policy opts in', async () => {
    const ops = await call('/decode', { headers: { authorization: `Bearer ${await token('olga', { groups: ['ops'] })}`, 'x-namespace': 'orders' },
      body: body([encrypted(SECRET)]) });
    expect(ops.status).toBe(200);
    const claim = await call('/decode', { headers: { authorization: `Bearer ${await token('pia', { permissions: ['temporal-system:admin'] })}`,
      'x-namespace': 'orders' }, body: body([encrypted(SECRET)]) });
    expect(claim.status).toBe(403);
  });

  test('the CLI with a workload client certificate (mTLS) decodes; certificates of a foreign CA are refused', async () => {
    const ok = await call('/decode', { cert: pki.worker, headers: { 'x-namespace': 'orders' }, body: body([encrypted(SECRET)]) });
    expect(ok.status).toBe(200);
    const foreign = await call('/decode', { cert: pki.bad.foreign, headers: { 'x-namespace': 'orders' }, body: body([encrypted(SECRET)]) });
    expect(foreign.status).toBe(401);
    const asPlatform = await call('/decode', { cert: pki.bad.workloadAsPlatform, headers: { 'x-namespace': 'orders' },
      body: body([encrypted(SECRET)]) });
    expect(asPlatform.status).toBe(401);
  });
});

describe('bad tokens: 401, nothing decoded', () => {
  const cases: [string, () => Promise<Record<string, string>>][] = [
    ['missing', async () => ({})],
    ['not a bearer token', async () => ({ authorization: 'Basic cml0YTpwYXNz' })],
    ['expired', async () => ({ authorization: `Bearer ${await token('rita', { exp: Math.floor(Date.now() / 1000) - 600 })}` })],
    ['forged (another key, same kid)', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      return { authorization: `Bearer ${await idp.sign({ sub: 'rita' }, {}, privateKey)}` };
    }],
    ['alg none', async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      return { authorization: `Bearer ${b64({ alg: 'none', kid: idp.kid })}.${b64({ sub: 'rita', iss: IDP_ISSUER, aud: IDP_AUDIENCE,
        exp: now + 300 })}.` };
    }],
    ['HS256 with the public key as secret', async () => {
      const now = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({ sub: 'rita', iss: IDP_ISSUER, aud: IDP_AUDIENCE, exp: now + 300 })
        .setProtectedHeader({ alg: 'HS256', kid: idp.kid }).sign(Buffer.from(JSON.stringify(idp.jwk)));
      return { authorization: `Bearer ${jwt}` };
    }],
    ['wrong audience', async () => ({ authorization: `Bearer ${await token('rita', { aud: 'another-api' })}` })],
    ['wrong issuer', async () => ({ authorization: `Bearer ${await token('rita', { iss: 'https://evil.example.com' })}` })],
  ];
  test.each(cases)('%s', async (_name, headers) => {
    const reply = await call('/decode', { headers: { 'x-namespace': 'orders', ...(await headers()) }, body: body([encrypted(SECRET)]) });
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Bearer');
    expect(reply.body).not.toContain(SECRET);
  });
});

describe('bad payloads and requests', () => {
  const tamper = () => {
    const p = encrypted(SECRET);
    const data = Buffer.from(p.data ?? '', 'base64');
    data[20] ^= 1;
    return { ...p, data: data.toString('base64') };
  };
  const cases: [string, () => unknown[], number, string][] = [
    ['tampered ciphertext', () => [tamper()], 422, 'DECRYPT_FAILED'],
    ['unknown key id', () => [{ ...encrypted(SECRET), metadata: { ...encrypted(SECRET).metadata,
      'encryption-key-id': Buffer.from('k9').toString('base64') } }], 422, 'UNKNOWN_KEY'],
    ['wrong key id (another key of the ring)', () => [{ ...encrypted(SECRET), metadata: { ...encrypted(SECRET).metadata,
      'encryption-key-id': Buffer.from('k2').toString('base64') } }], 422, 'DECRYPT_FAILED'],
    ['truncated data', () => [{ ...encrypted(SECRET), data: Buffer.from(encrypted(SECRET).data ?? '', 'base64').subarray(0, 20).toString('base64') }],
      422, 'MALFORMED'],
    ['a payload that is not an object', () => ['x'], 400, 'BAD_REQUEST'],
    ['data that is not base64', () => [{ data: '%%%' }], 400, 'BAD_REQUEST'],
    ['too many payloads', () => Array.from({ length: 11 }, () => plain(1)), 413, 'TOO_MANY'],
  ];
  test.each(cases)('%s: %s %s, no plaintext in the reply', async (_name, payloads, status, code) => {
    const reply = await call('/decode', { headers: await asUser('rita'), body: body(payloads()) });
    expect({ status: reply.status, error: reply.json?.error }).toEqual({ status, error: code });
    expect(reply.body).not.toContain(SECRET);
  });

  test('an oversized body: 413', async () => {
    const reply = await call('/decode', { headers: await asUser('rita'), body: body([plain('x'.repeat(70 * 1024))]) });
    expect(reply.status).toBe(413);
  });

  test('a wrong content type: 415; a body that is not JSON: 400; no payloads array: 400', async () => {
    expect((await call('/decode', { headers: { ...(await asUser('rita')), 'content-type': 'text/plain' }, body: body([]) })).status).toBe(415);
    expect((await call('/decode', { headers: await asUser('rita'), body: '{nope' })).status).toBe(400);
    expect((await call('/decode', { headers: await asUser('rita'), body: '{"payload":[]}' })).json?.message)
      .toBe('the body must be {"payloads": [...]}');
  });

  test('no X-Namespace: 400; GET: 405; another path: 404', async () => {
    expect((await call('/decode', { headers: { authorization: `Bearer ${await token('rita')}` }, body: body([]) })).status).toBe(400);
    expect((await call('/decode', { method: 'GET', headers: await asUser('rita') })).status).toBe(405);
    expect((await call('/decrypt', { headers: await asUser('rita'), body: body([]) })).status).toBe(404);
  });
});

describe('CORS', () => {
  test('the Web UI\'s origin: preflight allowed for the bearer header (no credentials mode)', async () => {
    const reply = await call('/decode', { method: 'OPTIONS', headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,x-namespace' } });
    expect(reply.status).toBe(204);
    expect(reply.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
    expect(reply.headers['access-control-allow-credentials']).toBeUndefined();
    expect(reply.headers['access-control-allow-headers']).toBe('Authorization, Authorization-Extras, Content-Type, X-Namespace');
    const post = await call('/decode', { headers: { ...(await asUser('rita')), origin: UI_ORIGIN }, body: body([encrypted(SECRET)]) });
    expect(post.status).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
  });

  test('from a browser page, a client certificate the browser presents does not count, even next to a token', async () => {
    const before = logs.length;
    const reply = await call('/decode', { cert: pki.worker, headers: { ...(await asUser('rita')), origin: UI_ORIGIN }, body: body([]) });
    expect(reply.status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    const line = logs.slice(before).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request');
    expect(line).toMatchObject({ identity: `jwt:${IDP_ISSUER}#rita`, auth: 'jwt' });
  });

  test('from a browser page, a client certificate alone does not authenticate: the token is required', async () => {
    const reply = await call('/decode', { cert: pki.worker, headers: { 'x-namespace': 'orders', origin: UI_ORIGIN }, body: body([encrypted(SECRET)]) });
    expect(reply.status).toBe(401);
    expect(reply.json?.message).toBe('a request from a browser page needs a bearer token');
    expect(reply.body).not.toContain(SECRET);
  });

  test('an oversized body closes the connection (the rest of the upload is not read)', async () => {
    const reply = await call('/decode', { headers: await asUser('rita'), body: body([plain('x'.repeat(70 * 1024))]) });
    expect(reply.status).toBe(413);
    expect(reply.headers.connection).toBe('close');
  });

  test('another origin: 403 and no CORS header (preflight and request)', async () => {
    const preflight = await call('/decode', { method: 'OPTIONS', headers: { origin: 'https://evil.example.com' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const post = await call('/decode', { headers: { ...(await asUser('rita')), origin: 'https://evil.example.com' }, body: body([encrypted(SECRET)]) });
    expect(post.status).toBe(403);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect(post.body).not.toContain(SECRET);
  });
});

describe('operations', () => {
  test('a new active key is picked up from the folder without a restart', async () => {
    const before = logs.length;
    writeKeys({ active: 'k2' });
    await new Promise((r) => setTimeout(r, 2200));
    const reloaded = logs.slice(before).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'keys reloaded');
    expect(reloaded).toEqual([expect.objectContaining({ what: 'keys', namespaces: ['orders'] })]);
    const reply = await call('/encode', { headers: await asUser('wally'), body: body([plain(1)]) });
    const [payload] = reply.json?.payloads as { metadata: Record<string, string> }[];
    expect(Buffer.from(payload.metadata['encryption-key-id'], 'base64').toString()).toBe('k2');
    writeKeys({ active: 'k1' });
  });

  test('the log says who asked what, never a key or plaintext', async () => {
    await call('/decode', { headers: await asUser('rita'), body: body([encrypted({ card: SECRET })]) });
    await new Promise((r) => setTimeout(r, 200));
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.identity === `jwt:${IDP_ISSUER}#rita` && l.namespace === 'orders' && l.status === 200 &&
      l.operation === 'decode')).toBe(true);
    expect(lines.some((l) => l.status === 401 && typeof l.reason === 'string')).toBe(true);
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(Buffer.from(JSON.stringify({ card: SECRET })).toString('base64'));
    for (const key of Object.values(keys)) {
      expect(logs).not.toContain(key.toString('base64'));
    }
  });

  test('a policy that does not read is reported and the previous one stays; a good one is read again', async () => {
    const before = logs.length;
    writeFileSync(config.policyFile, '{"rules": [ {"name": "x"');
    await new Promise((r) => setTimeout(r, 1500));
    const failed = logs.slice(before).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.what === 'policy');
    expect(failed[0]).toMatchObject({ msg: 'policy not reloaded; the previous policy stay in use', err: expect.any(String) });
    expect((await call('/decode', { headers: await asUser('rita'), body: body([encrypted(1)]) })).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/codec_server_reload_failures_total\{what="policy"\} [1-9]/);
    const restored = logs.length;
    writeFileSync(config.policyFile, JSON.stringify({ rules: [...POLICY.rules, { name: 'extra', jwt: { subject: 'ed' }, grants: { orders: 'read' } }] }));
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(config.policyFile, JSON.stringify(POLICY));
    const lines = logs.slice(restored).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const back = lines.find((l) => l.msg === 'policy reloaded');
    expect(back).toMatchObject({ what: 'policy' });
    expect(back).not.toHaveProperty('namespaces');
  });

  test('health and metrics on the plain HTTP port', async () => {
    expect((await fetch(`http://127.0.0.1:${server.httpPort}/elsewhere`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.httpPort}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/codec_server_requests_total\{operation="decode",status="200"\} \d+/);
    expect(metrics).toMatch(/codec_server_payloads_total\{operation="encode"\} \d+/);
  });

  test('a bad configuration names every variable at once', () => {
    const bad = () => configFromEnv({ CODEC_CORS_ORIGINS: 'https://ui.example.com/path', CODEC_MAX_PAYLOADS: '0' });
    for (const problem of ['CODEC_TLS_CERT_FILE is not set', 'CODEC_TRUST_DOMAIN is not set', 'CODEC_KEYS_DIR is not set',
      'CODEC_POLICY_FILE is not set', '"https://ui.example.com/path" is not an origin', 'CODEC_MAX_PAYLOADS must be an integer from 1']) {
      expect(bad).toThrow(problem);
    }
  });
});

describe('the exact answers', () => {
  const expectAnswer = (reply: Reply, status: number, error: string, message: string) => {
    expect({ status: reply.status, json: reply.json }).toEqual({ status, json: { error, message } });
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers.vary).toBe('Origin');
    // Each refusal carries only its own extra header: a challenge on 401, a retry hint on 503 (a close on 413: below).
    expect(reply.headers['www-authenticate']).toBe(status === 401 ? 'Bearer' : undefined);
    expect(reply.headers['retry-after']).toBe(status === 503 ? '1' : undefined);
  };

  test('each refusal with its status, code and message', async () => {
    const rita = await asUser('rita');
    expectAnswer(await call('/codec/decrypt', { headers: rita, body: body([]) }), 404, 'NOT_FOUND', 'not found: POST .../encode or .../decode');
    expectAnswer(await call('/encode/more', { headers: rita, body: body([]) }), 404, 'NOT_FOUND', 'not found: POST .../encode or .../decode');
    expectAnswer(await call('/decode', { headers: { ...rita, origin: 'https://evil.example.com' }, body: body([]) }), 403, 'ORIGIN',
      'this origin is not allowed');
    expectAnswer(await call('/decode', { method: 'PUT', headers: rita, body: body([]) }), 405, 'METHOD', 'PUT is not allowed: POST');
    expectAnswer(await call('/decode', { headers: { ...rita, 'content-type': 'text/plain' }, body: body([]) }), 415, 'CONTENT_TYPE',
      'the body must be application/json');
    expectAnswer(await call('/decode', { headers: rita, body: body([]), noContentType: true }), 415, 'CONTENT_TYPE',
      'the body must be application/json');
    for (const namespace of [undefined, '']) {
      const headers: Record<string, string> = { authorization: rita.authorization, ...(namespace === undefined ? {} : { 'x-namespace': namespace }) };
      expectAnswer(await call('/decode', { headers, body: body([]) }), 400, 'NAMESPACE', 'the X-Namespace header names no namespace');
    }
    expectAnswer(await call('/decode', { headers: rita, body: '{nope' }), 400, 'BAD_REQUEST', 'the body is not JSON');
    expectAnswer(await call('/decode', { headers: rita, body: 'null' }), 400, 'BAD_REQUEST', 'the body must be {"payloads": [...]}');
    expectAnswer(await call('/decode', { headers: rita, body: body(Array.from({ length: 11 }, () => plain(1))) }), 413, 'TOO_MANY',
      'more than 10 payloads in one request');
    expectAnswer(await call('/encode', { headers: rita, body: body([plain(1)]) }), 403, 'FORBIDDEN',
      'encode on namespace orders needs the role write, admin');
    expectAnswer(await call('/decode', { headers: { ...rita, 'x-namespace': 'billing' }, body: body([]) }), 403, 'FORBIDDEN',
      'decode on namespace billing needs the role read, write, admin');
    const ops = { authorization: `Bearer ${await token('olga', { groups: ['ops'] })}`, 'x-namespace': 'billing' };
    expectAnswer(await call('/decode', { headers: ops, body: body([]) }), 422, 'NO_KEY_RING', 'namespace billing has no key ring here');
  });

  test('a bad payload is named by its place in the request', async () => {
    expectAnswer(await call('/decode', { headers: await asUser('rita'), body: body([plain(1), 'x']) }), 400, 'BAD_REQUEST',
      'payloads[1] must be an object { metadata, data }');
  });

  test('a namespace name is cut at 255 characters in the answer and in the audit line', async () => {
    const long = `n${'a'.repeat(299)}`;
    const before = logs.length;
    const ops = { authorization: `Bearer ${await token('olga', { groups: ['ops'] })}`, 'x-namespace': long };
    expectAnswer(await call('/decode', { headers: ops, body: body([]) }), 422, 'NO_KEY_RING', `namespace ${long.slice(0, 255)} has no key ring here`);
    await new Promise((r) => setTimeout(r, 100));
    const line = logs.slice(before).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request');
    expect(line?.namespace).toBe(long.slice(0, 255));
  });

  test('a caller that does not authenticate: 401 with a Bearer challenge', async () => {
    const page = await call('/decode', { headers: { 'x-namespace': 'orders', origin: UI_ORIGIN }, body: body([]) });
    expectAnswer({ ...page, headers: { ...page.headers, vary: page.headers.vary } }, 401, 'UNAUTHENTICATED',
      'a request from a browser page needs a bearer token');
    expect(page.headers['www-authenticate']).toBe('Bearer');
    expect(page.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
    const forged = await call('/decode', { headers: { authorization: 'Bearer not-a-token', 'x-namespace': 'orders' }, body: body([]) });
    expect({ status: forged.status, error: forged.json?.error }).toEqual({ status: 401, error: 'UNAUTHENTICATED' });
    expect(forged.json?.message).toEqual(expect.any(String));
    expect(forged.json?.message).not.toBe('');
    expect(forged.headers['www-authenticate']).toBe('Bearer');
    expect(forged.headers['retry-after']).toBeUndefined();
  });

  test('a content type with parameters, spaces and capitals is JSON; both operations under any path prefix', async () => {
    const wally = await asUser('wally', { 'content-type': 'Application/JSON ; charset=utf-8' });
    const encoded = await call('/codec/encode', { headers: wally, body: body([plain(1)]) });
    expect(encoded.status).toBe(200);
    const decoded = await call('/codec/decode', { headers: wally, body: encoded.body });
    expect(decodedData(decoded)).toBe('1');
  });

  test('a body of exactly the limit is read; one byte more is refused, declared or chunked', async () => {
    const rita = await asUser('rita');
    const exact = body([]).padEnd(64 * 1024, ' ');
    const ok = await call('/decode', { headers: rita, body: exact });
    expect({ status: ok.status, json: ok.json }).toEqual({ status: 200, json: { payloads: [] } });
    expect((await call('/decode', { headers: rita, body: exact, chunked: true })).status).toBe(200);
    const tooLarge = `${exact} `;
    for (const chunked of [false, true]) {
      const reply = await call('/decode', { headers: rita, body: tooLarge, chunked });
      expectAnswer(reply, 413, 'TOO_LARGE', 'the body is larger than 65536 bytes');
      expect(reply.headers.connection).toBe('close');
    }
  });

  test('a refusal keeps a kept-alive connection open, but for a body too large', async () => {
    const agent = new Agent({ ca: pki.frontendCa.cert + pki.root.cert, keepAlive: true });
    const headers = { ...(await asUser('rita')), 'content-type': 'application/json' };
    const connection = (payload: string) => new Promise<string | undefined>((resolve, reject) => {
      request({ host: '127.0.0.1', port: server.port, path: '/decode', method: 'POST', agent, servername: 'localhost', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers.connection));
      }).on('error', reject).end(payload);
    });
    try {
      expect(await connection('{nope')).toBe('keep-alive');
      expect(await connection(body([]).padEnd(64 * 1024 + 1, ' '))).toBe('close');
    } finally {
      agent.destroy();
    }
  });

  test('a body declared larger than the limit is refused before it is sent', async () => {
    const reply = await Promise.race([
      call('/decode', { headers: { ...(await asUser('rita')), 'content-length': String(64 * 1024 + 1) }, holdBody: true }),
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no answer without the body')), 3_000)),
    ]);
    expectAnswer(reply, 413, 'TOO_LARGE', 'the body is larger than 65536 bytes');
  });

  test('exactly maxPayloads payloads are served', async () => {
    const reply = await call('/decode', { headers: await asUser('rita'), body: body(Array.from({ length: 10 }, () => plain(1))) });
    expect(reply.status).toBe(200);
    expect(reply.json?.payloads).toHaveLength(10);
  });

  test('a preflight of the Web UI\'s origin: every CORS header, no body', async () => {
    const reply = await call('/decode', { method: 'OPTIONS', headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST' } });
    expect(reply.status).toBe(204);
    expect(reply.body).toBe('');
    expect(reply.headers).toMatchObject({ 'access-control-allow-origin': UI_ORIGIN, vary: 'Origin', 'access-control-allow-methods': 'POST',
      'access-control-max-age': '600', 'content-length': '0' });
  });

  test('a preflight is audited as one', async () => {
    const before = logs.length;
    await call('/decode', { method: 'OPTIONS', headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST' } });
    await new Promise((r) => setTimeout(r, 100));
    const line = logs.slice(before).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request');
    expect(line).toMatchObject({ method: 'OPTIONS', path: '/decode', origin: UI_ORIGIN, operation: 'decode', status: 204, reason: 'preflight' });
  });

  test('the audit line of a request and of a refusal, and their metrics', async () => {
    const before = logs.length;
    await call('/codec/decode', { headers: { ...(await asUser('rita')), origin: UI_ORIGIN }, body: body([encrypted(1), plain(2)]) });
    await call('/nowhere', { headers: await asUser('rita'), body: body([]) });
    await new Promise((r) => setTimeout(r, 200));
    const lines = logs.slice(before).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ method: 'POST', path: '/codec/decode', origin: UI_ORIGIN, namespace: 'orders', operation: 'decode',
      payloads: 2, status: 200, reason: 'ok', identity: `jwt:${IDP_ISSUER}#rita` });
    expect(lines[0].latencyMs).toBeGreaterThan(0);
    expect(lines[0].latencyMs).toBeLessThan(60_000);
    expect(lines[1]).toMatchObject({ method: 'POST', path: '/nowhere', status: 404, reason: 'not found: POST .../encode or .../decode' });
    expect(lines[1]).not.toHaveProperty('origin');
    expect(lines[1]).not.toHaveProperty('operation');
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/codec_server_requests_total\{operation="none",status="404"\} [1-9]/);
    expect(metrics).toMatch(/codec_server_payloads_total\{operation="decode"\} [1-9]/);
    const sum = /codec_server_request_duration_seconds_sum\{operation="decode"\} ([0-9.e-]+)/.exec(metrics);
    expect(Number(sum?.[1])).toBeGreaterThan(0);
    expect(Number(sum?.[1])).toBeLessThan(600);
    // Latency is observed for the two operations only (a request to another path has none).
    const latencySeries = metrics.split('\n').filter((l) => l.startsWith('codec_server_request_duration_seconds_count'));
    expect(latencySeries.length).toBeGreaterThan(0);
    latencySeries.forEach((l) => expect(l).toMatch(/^codec_server_request_duration_seconds_count\{operation="(encode|decode)"\} \d+$/));
  });
});
