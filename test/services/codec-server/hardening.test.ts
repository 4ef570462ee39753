/**
 * The codec server's security findings, each pinned: only workload certificates that TLS verified, every CA of a
 * bundle, payloads bound to their namespace's key ring, API keys, admission by bytes in flight, and the bound on
 * connections that never authenticate. Real HTTPS on loopback.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connect } from 'node:tls';
import { createApiKey } from '../../../lib/authorizer/api-keys';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { encryptPayload, KeyRing, payloadToJson } from '../../../lib/codec';
import { configFromEnv } from '../../../services/codec-server/config';
import { RunningCodecServer, startCodecServer } from '../../../services/codec-server/server';
import { Issued, issue, testPki, TestPki } from '../authorizer-proxy/test-pki';

const SECRET = 'SECRET-PLAINTEXT-5500-0000';
const POLICY: AuthorizerPolicy = { rules: [
  { name: 'worker', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write', billing: 'read' } },
  // A grant that a platform certificate would get, were it accepted: it must not be.
  { name: 'web', certificate: { uri: 'spiffe://cluster.local/ns/temporal/temporal-platform/web' }, grants: { 'temporal-system': 'admin' } },
  { name: 'ci', apiKey: { owner: 'ci-deploy' }, grants: { orders: 'write' } },
] };

const ordersKey = randomBytes(32);
const billingKey = randomBytes(32);
const ring = (key: Buffer) => new KeyRing({ k1: key }, 'k1');
const plainPayload = () => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify({ card: SECRET })) });
const body = (payloads: unknown[]) => JSON.stringify({ payloads });

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; json?: Record<string, unknown>; text: string }

function call(port: number, ca: string, options: { path?: string; headers?: Record<string, string>; body?: string; cert?: Issued;
  chain?: string; holdBody?: boolean; chunked?: boolean } = {}): Promise<Reply> & { send?: () => void; abort?: () => void } {
  const agent = new Agent({ ca, ...(options.cert ? { cert: options.cert.cert + (options.chain ?? ''), key: options.cert.key } : {}),
    keepAlive: false });
  let send: (() => void) | undefined;
  let abort: (() => void) | undefined;
  const promise = new Promise<Reply>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: options.path ?? '/decode', method: 'POST', agent, servername: 'localhost',
      headers: { 'content-type': 'application/json', 'x-namespace': 'orders', ...options.headers,
        ...(options.body !== undefined && !options.chunked ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
      });
    });
    req.on('error', reject);
    if (options.holdBody) {
      req.flushHeaders();
      send = () => req.end(options.body);
      abort = () => {
        // Half the body, then the connection drops.
        req.write((options.body ?? '').slice(0, Math.floor((options.body ?? '').length / 2)));
        setTimeout(() => req.destroy(), 50);
      };
    } else {
      req.end(options.body);
    }
  });
  return Object.assign(promise, { send: () => send?.(), abort: () => abort?.() });
}

describe('the codec server, hardened', () => {
  let pki: TestPki;
  let server: RunningCodecServer;
  let keysFile: string;
  let ca: string;
  let logs = '';
  const key = createApiKey('ci-1', 'ci-deploy', new Date(Date.now() + 86_400_000));
  const expired = createApiKey('ci-old', 'ci-deploy', new Date(Date.now() - 60_000));
  const disabled = createApiKey('ci-off', 'ci-deploy', new Date(Date.now() + 86_400_000));
  let newCa: Issued;

  beforeAll(async () => {
    pki = await testPki();
    ca = pki.frontendCa.cert + pki.root.cert;
    const keysDir = join(pki.dir, 'keys');
    for (const [ns, k] of [['orders', ordersKey], ['billing', billingKey]] as const) {
      mkdirSync(join(keysDir, ns), { recursive: true });
      writeFileSync(join(keysDir, ns, 'k1.key'), k.toString('base64'));
      writeFileSync(join(keysDir, ns, 'active'), 'k1');
    }
    // A CA rotation in progress: the bundle holds the workload CA and its successor.
    newCa = await issue({ commonName: 'test workload CA 2', isCA: true, usages: ['cert sign', 'crl sign', 'digital signature'] });
    keysFile = pki.file('api-keys.json', JSON.stringify({ keys: [key.record, expired.record, { ...disabled.record, disabled: true }] }));
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => {
      logs += chunk.toString();
    });
    server = await startCodecServer(configFromEnv({
      CODEC_LISTEN: '127.0.0.1:0',
      CODEC_HTTP_LISTEN: '127.0.0.1:0',
      CODEC_TLS_CERT_FILE: pki.file('codec.crt', pki.proxyServer.cert),
      CODEC_TLS_KEY_FILE: pki.file('codec.key', pki.proxyServer.key),
      CODEC_CLIENT_CA_FILES: pki.file('workload-bundle.crt', pki.workloadCa.cert + newCa.cert),
      CODEC_TRUST_DOMAIN: 'cluster.local',
      CODEC_KEYS_DIR: keysDir,
      CODEC_POLICY_FILE: pki.file('policy.json', JSON.stringify(POLICY)),
      CODEC_API_KEYS_FILE: keysFile,
      CODEC_MAX_BODY_BYTES: String(64 * 1024),
      CODEC_MAX_IN_FLIGHT_BYTES: String(128 * 1024),
      CODEC_MAX_CONNECTIONS: '8',
      CODEC_REQUEST_TIMEOUT_MS: '2000',
      CODEC_RELOAD_SECONDS: '600',
    }), { destination });
  });

  afterAll(async () => {
    await server?.close();
  });

  const encrypted = (namespace?: string, key = ordersKey) =>
    payloadToJson(encryptPayload(plainPayload(), ring(key), namespace !== undefined ? { namespace } : {}));

  describe('certificates', () => {
    it('does refuse a platform component\'s certificate, whatever the policy grants it (only workloads decrypt)', async () => {
      const reply = await call(server.port, ca, { cert: pki.web, chain: pki.platformCa.cert, body: body([encrypted('orders')]) });
      expect(reply.status).toBe(401);
      expect(reply.json?.message).toBe('the request carries neither a bearer token nor a client certificate');
      expect(reply.text).not.toContain(SECRET);
    });

    it('does refuse a certificate TLS refused, though its issuer, identity URI and extended usage are right', async () => {
      // Key usage without digitalSignature: OpenSSL's client-purpose check fails the chain, our identity check alone would not.
      const unsuitable = await issue({ commonName: 'orders-worker', usages: ['key encipherment', 'client auth'],
        uris: ['spiffe://cluster.local/ns/orders/temporal-client/orders-worker'] }, pki.workloadCa);
      const reply = await call(server.port, ca, { cert: unsuitable, body: body([encrypted('orders')]) });
      expect(reply.status).toBe(401);
      expect(reply.text).not.toContain(SECRET);
      // The same identity from a certificate TLS accepts decrypts (the refusal is TLS's verdict, not the identity).
      expect((await call(server.port, ca, { cert: pki.worker, body: body([encrypted('orders')]) })).status).toBe(200);
    });

    it('does accept a leaf of the second CA of a bundle (a CA rotation in progress)', async () => {
      const leaf = await issue({ commonName: 'orders-worker', usages: ['digital signature', 'client auth'],
        uris: ['spiffe://cluster.local/ns/orders/temporal-client/orders-worker'] }, newCa);
      const reply = await call(server.port, ca, { cert: leaf, body: body([encrypted('orders')]) });
      expect(reply.status).toBe(200);
    });
  });

  describe('payload keys bound to namespaces', () => {
    it('does encode with the namespace\'s own key ring, bound to the namespace (format 2)', async () => {
      const reply = await call(server.port, ca, { path: '/encode', cert: pki.worker, body: body([payloadToJson(plainPayload())]) });
      expect(reply.status).toBe(200);
      const [payload] = reply.json?.payloads as { metadata: Record<string, string> }[];
      const meta = (k: string) => Buffer.from(payload.metadata[k], 'base64').toString();
      expect([meta('encryption-format'), meta('encryption-namespace'), meta('encryption-key-id')]).toEqual(['2', 'orders', 'k1']);
      // It decodes for orders, and for billing (where this caller may read) it is another namespace's payload.
      expect((await call(server.port, ca, { cert: pki.worker, body: body([payload]) })).status).toBe(200);
      const elsewhere = await call(server.port, ca, { cert: pki.worker, headers: { 'x-namespace': 'billing' }, body: body([payload]) });
      expect({ status: elsewhere.status, error: elsewhere.json?.error }).toEqual({ status: 422, error: 'WRONG_NAMESPACE' });
    });

    it('does refuse, under orders, the ciphertext of billing; and billing\'s key does not open orders\' payloads', async () => {
      const billings = encrypted('billing', billingKey);
      const refused = await call(server.port, ca, { cert: pki.worker, body: body([billings]) });
      expect({ status: refused.status, error: refused.json?.error }).toEqual({ status: 422, error: 'WRONG_NAMESPACE' });
      expect(refused.text).not.toContain(Buffer.from(JSON.stringify({ card: SECRET })).toString('base64'));
      const asBilling = await call(server.port, ca, { cert: pki.worker, headers: { 'x-namespace': 'billing' }, body: body([billings]) });
      expect(asBilling.status).toBe(200);
      // A samples-format payload (format 1) of orders' key still decodes under orders, and not with billing's ring.
      expect((await call(server.port, ca, { cert: pki.worker, body: body([encrypted()]) })).status).toBe(200);
      const wrongRing = await call(server.port, ca, { cert: pki.worker, headers: { 'x-namespace': 'billing' }, body: body([encrypted()]) });
      expect({ status: wrongRing.status, error: wrongRing.json?.error }).toEqual({ status: 422, error: 'DECRYPT_FAILED' });
    });

    it('does refuse a namespace it holds no key ring for', async () => {
      const reply = await call(server.port, ca, { headers: { authorization: `Bearer ${key.key}`, 'x-namespace': 'payments' },
        body: body([encrypted('payments')]) });
      // The API key has no role on payments: refused before the key rings are consulted.
      expect(reply.status).toBe(403);
      const policy = POLICY.rules.find((r) => r.name === 'worker');
      expect(policy?.grants.payments).toBeUndefined();
    });
  });

  describe('API keys', () => {
    it('does grant an API key exactly its rules, and name the key id (never the key) in the audit line', async () => {
      const ok = await call(server.port, ca, { headers: { authorization: `Bearer ${key.key}` }, body: body([encrypted('orders')]) });
      expect(ok.status).toBe(200);
      const other = await call(server.port, ca, { headers: { authorization: `Bearer ${key.key}`, 'x-namespace': 'billing' },
        body: body([encrypted('billing', billingKey)]) });
      expect(other.status).toBe(403);
      await new Promise((r) => setTimeout(r, 100));
      expect(logs).toMatch(/"identity":"apikey:ci-1","auth":"apikey"/);
      expect(logs).not.toContain(key.key.slice(4));
    });

    it.each([
      ['an expired key', () => expired.key, 'the API key ci-old expired at'],
      ['a disabled key', () => disabled.key, 'the API key ci-off is disabled'],
      ['an unknown key', () => createApiKey('ci-9', 'ci-deploy', new Date(Date.now() + 86_400_000)).key, 'the API key is not valid'],
      ['a known id with another secret', () => `${key.key.slice(0, -4)}AAAA`, 'the API key is not valid'],
    ])('does refuse %s with its reason', async (_what, presented, reason) => {
      const reply = await call(server.port, ca, { headers: { authorization: `Bearer ${presented()}` }, body: body([encrypted('orders')]) });
      expect(reply.status).toBe(401);
      expect(String(reply.json?.message)).toContain(reason);
      expect(reply.text).not.toContain(SECRET);
    });

    it('does report the days left on each key that is not disabled', async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
      const days = Number(/codec_server_api_key_expiry_days\{key_id="ci-1",owner="ci-deploy"\} ([0-9.e-]+)/.exec(metrics)?.[1]);
      expect(days).toBeGreaterThan(0.99);
      expect(days).toBeLessThanOrEqual(1);
      expect(metrics).toMatch(/codec_server_api_key_expiry_days\{key_id="ci-old",owner="ci-deploy"\} -/);
      expect(metrics).not.toMatch(/key_id="ci-off"/);
    });
  });

  describe('bounded before trust', () => {
    it('does answer 503 with Retry-After past its in-flight budget, and serve again once the bytes are through', async () => {
      const big = body([payloadToJson({ metadata: { encoding: Buffer.from('json/plain') }, data: randomBytes(40 * 1024) })]);
      const auth = { authorization: `Bearer ${key.key}` };
      // Two requests of ~54 KiB fill the 128 KiB budget while their bodies are still to come; a third does not fit.
      const held = [call(server.port, ca, { headers: auth, body: big, holdBody: true }),
        call(server.port, ca, { headers: auth, body: big, holdBody: true })];
      await new Promise((r) => setTimeout(r, 300));
      const inFlight = async () => Number(/codec_server_in_flight_body_bytes (\d+)/
        .exec(await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text())?.[1]);
      // Each is admitted by the length it declares.
      expect(await inFlight()).toBe(2 * Buffer.byteLength(big));
      const third = await call(server.port, ca, { headers: auth, body: big });
      expect({ status: third.status, json: third.json, retry: third.headers['retry-after'] }).toEqual({ status: 503, retry: '1',
        json: { error: 'BUSY', message: 'the codec server is serving as many bytes as its memory allows: retry shortly' } });
      held.forEach((h) => h.send?.());
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
      expect(await inFlight()).toBe(0);
      expect((await call(server.port, ca, { headers: auth, body: big })).status).toBe(200);
    });

    it('does admit a body of unknown length (chunked) by the largest body it may be', async () => {
      const auth = { authorization: `Bearer ${key.key}` };
      const held = call(server.port, ca, { headers: auth, body: body([]), holdBody: true, chunked: true });
      await new Promise((r) => setTimeout(r, 300));
      const inFlight = async () => Number(/codec_server_in_flight_body_bytes (\d+)/
        .exec(await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text())?.[1]);
      expect(await inFlight()).toBe(64 * 1024);
      held.send?.();
      expect((await held).status).toBe(200);
      expect(await inFlight()).toBe(0);
    });

    it('does give back the bytes of an upload the caller dropped halfway', async () => {
      const big = body([payloadToJson({ metadata: { encoding: Buffer.from('json/plain') }, data: randomBytes(40 * 1024) })]);
      const dropped = call(server.port, ca, { headers: { authorization: `Bearer ${key.key}` }, body: big, holdBody: true });
      const failed = dropped.catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 200));
      dropped.abort?.();
      await failed;
      const inFlight = async () => Number(/codec_server_in_flight_body_bytes (\d+)/
        .exec(await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text())?.[1]);
      for (let i = 0; i < 50 && await inFlight() !== 0; i += 1) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await inFlight()).toBe(0);
    });

    it('does bound what one request may decompress to in all (four times the body limit), not only per payload', async () => {
      // Four payloads of 100 KiB of zeros each, gzip-compressed to a few hundred bytes: each under the per-payload limit
      // (256 KiB here), together past the request's budget (256 KiB).
      const bomb = () => payloadToJson(encryptPayload({ metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.alloc(100 * 1024) },
        ring(ordersKey), { namespace: 'orders', compressAtBytes: 1 }));
      const two = await call(server.port, ca, { cert: pki.worker, body: body([bomb(), bomb()]) });
      expect(two.status).toBe(200);
      const four = await call(server.port, ca, { cert: pki.worker, body: body([bomb(), bomb(), bomb(), bomb()]) });
      expect({ status: four.status, error: four.json?.error }).toEqual({ status: 413, error: 'TOO_LARGE' });
    });

    it('does close connections that never authenticate, past their number and after their time', async () => {
      const open = () => new Promise<{ closed: Promise<number> }>((resolve) => {
        const started = Date.now();
        const socket = connect({ host: '127.0.0.1', port: server.port, ca, servername: 'localhost' }, () => resolve({
          closed: new Promise((done) => socket.once('close', () => done(Date.now() - started))) }));
        socket.on('error', () => undefined);
      });
      // maxConnections 8: at most 4 unauthenticated at once; a fifth makes room by closing the oldest, so a flood of idle
      // connections turns over instead of locking callers out.
      const first = await open();
      const rest = await Promise.all([open(), open(), open()]);
      const fifth = await open();
      expect(await first.closed).toBeLessThan(1_000);
      // The others are closed after the unauthenticated timeout (2 s here), without sending anything.
      const lifetimes = await Promise.all([...rest, fifth].map((c) => c.closed));
      lifetimes.forEach((ms) => expect(ms).toBeGreaterThanOrEqual(1_500));
      // An authenticated caller still gets through.
      expect((await call(server.port, ca, { cert: pki.worker, body: body([encrypted('orders')]) })).status).toBe(200);
    });
  });
});
