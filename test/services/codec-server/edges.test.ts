/**
 * The codec server at its edges, real HTTPS on loopback: compression from its setting, a fault of its own answered 500
 * without detail, a serving certificate renewed without a restart, and an identity provider that does not answer
 * (verifications bounded: 503 past the bound; each failed fetch counted and logged).
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, Server as HttpServer } from 'node:http';
import { Agent, request } from 'node:https';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connect } from 'node:tls';
import { generateKeyPair, SignJWT } from 'jose';
import { createApiKey } from '../../../lib/authorizer/api-keys';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { decryptPayload, KeyRing, payloadFromJson } from '../../../lib/codec';
import { configFromEnv } from '../../../services/codec-server/config';
import { RunningCodecServer, startCodecServer } from '../../../services/codec-server/server';
import { Issued, issue, testPki, TestPki } from '../authorizer-proxy/test-pki';

const POLICY: AuthorizerPolicy = { rules: [
  { name: 'worker', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
  { name: 'people', jwt: { group: 'people' }, grants: { orders: 'read' } },
] };
const ordersKey = randomBytes(32);
const body = (payloads: unknown[]) => JSON.stringify({ payloads });
const jsonPayload = (value: unknown) => ({ metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64') });

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; json?: Record<string, unknown> }

function call(port: number, ca: string, options: { path?: string; headers?: Record<string, string>; body: string; cert?: Issued }):
  Promise<Reply> {
  const agent = new Agent({ ca, ...(options.cert ? { cert: options.cert.cert, key: options.cert.key } : {}), keepAlive: false });
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: options.path ?? '/decode', method: 'POST', agent, servername: 'localhost',
      headers: { 'content-type': 'application/json', 'x-namespace': 'orders', ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text.startsWith('{') ? JSON.parse(text) : undefined });
      });
    }).on('error', reject).end(options.body);
  });
}

/** The serving certificate's SHA-256 fingerprint, as a new TLS connection sees it. */
function servingFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

function keysFolder(pki: TestPki): string {
  const dir = join(pki.dir, 'keys');
  mkdirSync(join(dir, 'orders'), { recursive: true });
  writeFileSync(join(dir, 'orders', 'k1.key'), ordersKey.toString('base64'));
  writeFileSync(join(dir, 'orders', 'active'), 'k1');
  return dir;
}

function collect(): { destination: PassThrough; lines: () => Record<string, unknown>[] } {
  let logs = '';
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
  });
  return { destination, lines: () => logs.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('compression, faults and certificate renewal', () => {
  let pki: TestPki;
  let server: RunningCodecServer;
  let ca: string;
  let certFile: string;
  let keyFile: string;
  let fault = false;
  const log = collect();

  beforeAll(async () => {
    pki = await testPki();
    ca = pki.frontendCa.cert + pki.root.cert;
    certFile = pki.file('codec.crt', pki.proxyServer.cert);
    keyFile = pki.file('codec.key', pki.proxyServer.key);
    server = await startCodecServer(configFromEnv({
      CODEC_LISTEN: '127.0.0.1:0', CODEC_HTTP_LISTEN: '127.0.0.1:0', CODEC_TLS_CERT_FILE: certFile, CODEC_TLS_KEY_FILE: keyFile,
      CODEC_CLIENT_CA_FILES: pki.file('workload-ca.crt', pki.workloadCa.cert), CODEC_TRUST_DOMAIN: 'cluster.local',
      CODEC_KEYS_DIR: keysFolder(pki), CODEC_POLICY_FILE: pki.file('policy.json', JSON.stringify(POLICY)),
      CODEC_COMPRESS_AT_BYTES: '1024', CODEC_RELOAD_SECONDS: '1',
    }), { destination: log.destination, clock: () => {
      if (fault) {
        throw new Error('a fault inside the codec server, with a detail that must stay in its log');
      }
      return Date.now();
    } });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('does say it listens without API keys or an identity provider when given neither', () => {
    expect(log.lines().find((l) => l.msg === 'codec server listening')).toMatchObject({ oidc: null, apiKeys: false });
  });

  it('does compress a payload from the size set on, and not below it', async () => {
    const reply = await call(server.port, ca, { path: '/encode', cert: pki.worker, body: body([jsonPayload('a'.repeat(2000)), jsonPayload('small')]) });
    expect(reply.status).toBe(200);
    const [large, small] = (reply.json?.payloads as unknown[]).map((p, i) => payloadFromJson(p, `payloads[${i}]`));
    const marker = (p: typeof large) => Buffer.from(p.metadata?.['encryption-compression'] ?? []).toString();
    expect([marker(large), marker(small)]).toEqual(['gzip', '']);
    // 2,000 repeated letters compress to far less than themselves.
    expect(large.data?.length).toBeLessThan(200);
    const ring = new KeyRing({ k1: ordersKey }, 'k1');
    expect(Buffer.from(decryptPayload(large, ring, { namespace: 'orders' }).data ?? []).toString()).toBe(JSON.stringify('a'.repeat(2000)));
  });

  it('does answer a fault of its own 500 with no detail, and log the detail', async () => {
    fault = true;
    try {
      const reply = await call(server.port, ca, { cert: pki.worker, body: body([]) });
      expect({ status: reply.status, json: reply.json }).toEqual({ status: 500, json: { error: 'INTERNAL', message: 'internal error' } });
    } finally {
      fault = false;
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(log.lines().filter((l) => l.msg === 'internal error')).toEqual([expect.objectContaining({ level: 'error',
      err: 'a fault inside the codec server, with a detail that must stay in its log' })]);
    expect(log.lines().filter((l) => l.msg === 'request').at(-1)).toMatchObject({ status: 500, reason: 'internal error' });
    expect((await call(server.port, ca, { cert: pki.worker, body: body([]) })).status).toBe(200);
  });

  it('does serve a renewed certificate to new connections without a restart', async () => {
    const before = await servingFingerprint(server.port, ca);
    expect(before).toBe(new X509Certificate(pki.proxyServer.cert).fingerprint256);
    const renewed = await issue({ commonName: 'codec renewed', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'],
      usages: ['digital signature', 'server auth'] }, pki.frontendCa);
    writeFileSync(keyFile, renewed.key);
    writeFileSync(certFile, renewed.cert);
    let after = before;
    for (let i = 0; i < 40 && after === before; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      after = await servingFingerprint(server.port, ca);
    }
    expect(after).toBe(new X509Certificate(renewed.cert).fingerprint256);
    expect((await call(server.port, ca, { cert: pki.worker, body: body([]) })).status).toBe(200);
  });

  it('does keep serving its certificate while the files hold a key that is not its, and report it at every reload', async () => {
    const before = await servingFingerprint(server.port, ca);
    const failures = async () => Number(/codec_server_reload_failures_total\{what="certificates"\} (\d+)/
      .exec(await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text())?.[1] ?? 0);
    const counted = await failures();
    writeFileSync(keyFile, pki.worker.key);
    // Two reloads (one per second) or more.
    while ((await failures()) < counted + 2) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await servingFingerprint(server.port, ca)).toBe(before);
    expect(log.lines().filter((l) => l.msg === 'certificates not reloaded; the previous certificates stay in use').at(-1)).toMatchObject({
      err: expect.stringMatching(new RegExp(`^${certFile} and ${keyFile} are no usable serving certificate and key: `)) });
    expect((await call(server.port, ca, { cert: pki.worker, body: body([]) })).status).toBe(200);
  });
});

describe('an identity provider that does not answer', () => {
  let pki: TestPki;
  let server: RunningCodecServer;
  let silent: HttpServer;
  let ca: string;
  const log = collect();

  beforeAll(async () => {
    pki = await testPki();
    ca = pki.frontendCa.cert + pki.root.cert;
    // Takes the key set request and never answers it.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    server = await startCodecServer(configFromEnv({
      CODEC_LISTEN: '127.0.0.1:0', CODEC_HTTP_LISTEN: '127.0.0.1:0', CODEC_TLS_CERT_FILE: pki.file('codec.crt', pki.proxyServer.cert),
      CODEC_TLS_KEY_FILE: pki.file('codec.key', pki.proxyServer.key), CODEC_TRUST_DOMAIN: 'cluster.local', CODEC_KEYS_DIR: keysFolder(pki),
      CODEC_POLICY_FILE: pki.file('policy.json', JSON.stringify(POLICY)), CODEC_OIDC_ISSUER: 'https://idp.example',
      CODEC_OIDC_AUDIENCE: 'temporal', CODEC_OIDC_JWKS_URI: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/jwks`,
      CODEC_RELOAD_SECONDS: '600',
    }), { destination: log.destination });
  });

  afterAll(async () => {
    await server?.close();
    silent?.closeAllConnections();
    await new Promise((r) => silent?.close(r));
  });

  it('does refuse tokens past the verifications it may hold open (503), then each waiting one once the fetch fails (401)', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(Array.from({ length: 70 }, (_v, i) => new SignJWT({ iss: 'https://idp.example', aud: 'temporal',
      sub: `person-${i}`, groups: ['people'], iat: now, exp: now + 300 }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).sign(privateKey)));
    const replies = await Promise.all(tokens.map((t) => call(server.port, ca, { headers: { authorization: `Bearer ${t}` }, body: body([]) })));
    const statuses = replies.map((r) => r.status);
    // At most 64 verifications wait for the keys; the others are turned away at once, with a retry hint.
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(6);
    expect(statuses.filter((s) => s !== 503 && s !== 401)).toEqual([]);
    const busy = replies.find((r) => r.status === 503);
    expect({ json: busy?.json, retry: busy?.headers['retry-after'] }).toEqual({ retry: '1',
      json: { error: 'BUSY', message: 'the codec server is verifying as many tokens as it may: retry shortly' } });
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(Number(/codec_server_identity_provider_key_fetch_failures_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(log.lines().filter((l) => l.msg === 'the identity provider\'s keys were not fetched; the last keys fetched stay in use'))
      .toContainEqual(expect.objectContaining({ level: 'warn', err: expect.stringMatching(/did not answer within/) }));
  }, 30_000);
});

describe('starting, reloading and closing', () => {
  let pki: TestPki;
  let server: RunningCodecServer;
  let ca: string;
  let policyFile: string;
  let apiKeysFile: string;
  const log = collect();
  const ciKey = createApiKey('ci-1', 'ci-deploy', new Date(Date.now() + 86_400_000));
  const env = () => ({
    CODEC_LISTEN: '127.0.0.1:0', CODEC_HTTP_LISTEN: '127.0.0.1:0', CODEC_TLS_CERT_FILE: pki.file('codec-life.crt', pki.proxyServer.cert),
    CODEC_TLS_KEY_FILE: pki.file('codec-life.key', pki.proxyServer.key), CODEC_CLIENT_CA_FILES: pki.file('workload-ca.crt', pki.workloadCa.cert),
    CODEC_TRUST_DOMAIN: 'cluster.local', CODEC_KEYS_DIR: keysFolder(pki), CODEC_POLICY_FILE: policyFile, CODEC_API_KEYS_FILE: apiKeysFile,
    CODEC_RELOAD_SECONDS: '2', CODEC_REQUEST_TIMEOUT_MS: '2000',
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();

  beforeAll(async () => {
    pki = await testPki();
    ca = pki.frontendCa.cert + pki.root.cert;
    policyFile = pki.file('life-policy.json', JSON.stringify(POLICY));
    apiKeysFile = pki.file('life-api-keys.json', JSON.stringify({ keys: [ciKey.record] }));
    server = await startCodecServer(configFromEnv(env()), { destination: log.destination });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('does say what it loaded and where it listens', () => {
    const lines = log.lines();
    expect(lines.find((l) => l.msg === 'key rings loaded')).toMatchObject({ level: 'info', component: 'codec-server', namespaces: ['orders'] });
    expect(lines.find((l) => l.msg === 'codec server listening')).toMatchObject({ component: 'codec-server', port: server.port,
      httpPort: server.httpPort, origins: [], oidc: null, apiKeys: true });
  });

  it('does serve its own metrics, the process\'s under its prefix, and each API key\'s days to expiry', async () => {
    expect((await call(server.port, ca, { cert: pki.worker, body: body([]) })).status).toBe(200);
    const text = await metrics();
    expect(text).toMatch(/^codec_server_process_cpu_seconds_total /m);
    expect(text).toMatch(/^codec_server_request_duration_seconds_bucket\{le="0.0005",operation="decode"\} \d+$/m);
    expect(text).toMatch(/^codec_server_in_flight_body_bytes 0$/m);
    expect(text).toMatch(/^codec_server_unauthenticated_connections \d+$/m);
    expect(Number(/^codec_server_api_key_expiry_days\{key_id="ci-1",owner="ci-deploy"\} ([\d.]+)$/m.exec(text)?.[1])).toBeGreaterThan(0.9);
  });

  it('does close a connection that sends no request within its request time (2 s here, under the 10 s cap)', async () => {
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: server.port, ca, servername: 'localhost' });
      socket.on('close', () => resolve(Date.now() - started));
      socket.on('error', reject);
    });
    expect(closedAfter).toBeLessThan(8_000);
  });

  it('does read a changed policy and API keys at its interval (2 s), not sooner, and report a file it cannot read', async () => {
    const next = createApiKey('ci-2', 'ci-deploy', new Date(Date.now() + 86_400_000));
    const reloaded = () => log.lines().filter((l) => l.msg === 'policy reloaded' || l.msg === 'API keys reloaded').length;
    const before = reloaded();
    writeFileSync(policyFile, JSON.stringify({ rules: [...POLICY.rules, { name: 'ci', apiKey: { owner: 'ci-deploy' }, grants: { orders: 'read' } }] }));
    writeFileSync(apiKeysFile, JSON.stringify({ keys: [ciKey.record, next.record] }));
    const changed = Date.now();
    while (reloaded() < before + 2) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // A reload timer of 2 s: the change is read within one interval, and the timer does not fire far more often.
    expect(Date.now() - changed).toBeLessThan(2_500);
    const asKey = await call(server.port, ca, { headers: { authorization: `Bearer ${next.key}` }, body: body([]) });
    expect(asKey.status).toBe(200);
    expect(await metrics()).not.toMatch(/codec_server_reload_failures_total\{/);
    writeFileSync(apiKeysFile, '{"keys": [');
    while (!/codec_server_reload_failures_total\{what="API keys"\} \d+/.test(await metrics())) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // One failed reload per interval, not more often.
    await new Promise((r) => setTimeout(r, 1_000));
    const failed = log.lines().filter((l) => l.what === 'API keys' && l.msg === 'API keys not reloaded; the previous API keys stay in use');
    expect(failed.length).toBeLessThanOrEqual(2);
    writeFileSync(apiKeysFile, JSON.stringify({ keys: [ciKey.record, next.record] }));
  });

  it('does fail to start, naming why, on a port that is taken', async () => {
    await expect(startCodecServer(configFromEnv({ ...env(), CODEC_LISTEN: `127.0.0.1:${server.port}` }), { destination: new PassThrough() }))
      .rejects.toThrow(/EADDRINUSE/);
  });

  it('does leave none of its ports listening once closed', async () => {
    const other = await startCodecServer(configFromEnv(env()), { destination: new PassThrough() });
    await other.close();
    const refused = (port: number) => fetch(`http://127.0.0.1:${port}/`).then(() => 'answered', (e: Error & { cause?: { code?: string } }) =>
      e.cause?.code ?? e.message);
    expect(await Promise.all([other.port, other.httpPort].map(refused))).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
  });
});
