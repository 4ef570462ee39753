/**
 * Memory under attack and under load, measured on the bundled programs as they run in their pods (a child process
 * each, the Node flags and limits the constructs set): the peak resident set (VmHWM) of the authorizer proxy under a
 * flood of maximum-size messages from callers without valid credentials, and of the codec server under 64 concurrent
 * maximum-size requests. Memory, not time, is asserted: the figures do not depend on the machine being idle.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { createServer, Server as HttpServer } from 'node:http';
import { Agent, request } from 'node:https';
import { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { createApiKey } from '../../lib/authorizer/api-keys';
import { PROXY_ENV, PROXY_LIMITS } from '../../lib/authorizer/proxy-env';
import { CODEC_ENV, codecInFlightBudget, CODEC_LIMITS } from '../../lib/codec/server-env';
import { standInFrontend } from './authorizer-proxy/harness';
import { signingKeyPem } from './authorizer-proxy/signing-key';
import { TestPki, testPki } from './authorizer-proxy/test-pki';

const BUNDLES = join(__dirname, '..', '..', 'build', 'services');
const MiB = 1024 * 1024;

/** Peak and current resident set of a process, from /proc (bytes). */
function memory(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
}

/** Starts a bundled program; resolves with its first JSON log line matching `listening`. */
function startBundle(name: string, env: Record<string, string>, nodeArgs: string[] = []):
  Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const file = join(BUNDLES, `${name}.js`);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run node scripts/bundle-services.mjs (npm test does) first`);
  }
  const child = spawn(process.execPath, [...nodeArgs, file], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let errors = '';
    child.stderr?.on('data', (c: Buffer) => {
      errors += c.toString();
      process.stderr.write(`[${name}] ${c.toString()}`);
    });
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.includes('listening'));
      if (line) {
        resolve({ child, line: JSON.parse(line) });
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${errors}${out}`)));
  });
}

const stop = (child: ChildProcess | undefined): Promise<void> => new Promise((resolve) => {
  if (!child || child.exitCode !== null) {
    resolve();
    return;
  }
  child.once('exit', () => resolve());
  child.kill('SIGKILL');
});

describe('the authorizer proxy under a flood of unauthenticated maximum-size messages', () => {
  let pki: TestPki;
  let frontend: Awaited<ReturnType<typeof standInFrontend>>;
  let proxy: ChildProcess | undefined;
  let jwks: HttpServer;
  const hanging = new Set<Socket>();

  beforeAll(async () => {
    pki = await testPki();
    frontend = await standInFrontend(pki);
    // An identity provider whose key set never answers: every token waits to be verified.
    jwks = createServer(() => undefined);
    jwks.on('connection', (s) => hanging.add(s));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await stop(proxy);
    hanging.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => jwks.close(() => resolve()));
    await frontend.stop();
  });

  it('does keep its peak resident set within 64 MiB of its baseline while refusing 1,600 calls of 48 MiB', async () => {
    const key = createApiKey('ci-1', 'ci', new Date(Date.now() + 86_400_000));
    const started = await startBundle('authorizer-proxy', {
      [PROXY_ENV.listen]: '127.0.0.1:0', [PROXY_ENV.httpListen]: '127.0.0.1:0', [PROXY_ENV.jwksListen]: '127.0.0.1:0',
      [PROXY_ENV.certFile]: pki.file('m-proxy.crt', pki.proxyServer.cert + pki.frontendCa.cert),
      [PROXY_ENV.keyFile]: pki.file('m-proxy.key', pki.proxyServer.key),
      [PROXY_ENV.clientCaFiles]: pki.file('m-workload.crt', pki.workloadCa.cert),
      [PROXY_ENV.trustDomain]: 'cluster.local',
      [PROXY_ENV.upstreamAddress]: `127.0.0.1:${frontend.port}`,
      [PROXY_ENV.upstreamServerName]: 'temporal-frontend.temporal.svc.cluster.local',
      [PROXY_ENV.upstreamCaFiles]: pki.file('m-frontend-ca.crt', pki.frontendCa.cert),
      [PROXY_ENV.upstreamCertFile]: pki.file('m-client.crt', pki.proxyClient.cert + pki.platformCa.cert),
      [PROXY_ENV.upstreamKeyFile]: pki.file('m-client.key', pki.proxyClient.key),
      [PROXY_ENV.signingKeyFile]: pki.file('m-signing.key', signingKeyPem()),
      [PROXY_ENV.tokenIssuer]: 'p', [PROXY_ENV.tokenAudience]: 'f',
      [PROXY_ENV.policyFile]: pki.file('m-policy.json', JSON.stringify({ rules: [] })),
      [PROXY_ENV.oidcIssuer]: 'https://idp.example.com', [PROXY_ENV.oidcAudience]: 'temporal',
      [PROXY_ENV.oidcJwksUri]: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`,
      [PROXY_ENV.apiKeysFile]: pki.file('m-api-keys.json', JSON.stringify({ keys: [key.record] })),
      [PROXY_ENV.maxBufferedBytes]: String(256 * MiB),
      [PROXY_ENV.logLevel]: 'info',
    });
    proxy = started.child;
    proxy.once('exit', (code, signal) => process.stderr.write(`[memory] the proxy exited: ${code} ${signal}\n`));
    const port = Number(started.line.grpcPort);
    const pid = proxy.pid as number;
    await new Promise((r) => setTimeout(r, 500));
    const baseline = memory(pid).now;

    // Each call declares a 48 MiB message and sends it in 1 MiB writes as fast as the proxy takes them (as a client
    // streaming a large message does).
    const chunk = Buffer.alloc(MiB);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(48 * MiB, 1);
    const token = `${Buffer.from('{"alg":"ES256","kid":"k"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`;
    // 16 connections, each 100 calls at once (the proxy's per-connection limit): no credentials, a token that waits for the
    // hanging key set, and an API key that does not verify, in turn. Every message is 48 MiB.
    const credentials = [undefined, `Bearer ${token}`, `Bearer stk_ci-1_${'A'.repeat(43)}`];
    const outcomes = new Map<string, number>();
    // (A client's own session memory would refuse its writes long before the proxy's: lift it, as grpc-js does.)
    const sessions = Array.from({ length: 16 }, () => h2connect(`https://127.0.0.1:${port}`, { ca: pki.frontendCa.cert + pki.root.cert,
      servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', maxSessionMemory: 100_000 }));
    sessions.forEach((session) => {
      session.setMaxListeners(200);
      session.on('error', () => undefined);
    });
    // Calls waiting on the key set stay open: once every other call has its answer, they are cut (as a client gives up).
    const open = new Set<{ stream: import('node:http2').ClientHttp2Stream; settle: () => void }>();
    const cut = () => open.forEach(({ stream, settle }) => {
      settle();
      stream.destroy();
    });
    const watch = setInterval(() => {
      const answered = [...outcomes.values()].reduce((a, b) => a + b, 0);
      if (answered >= 1_600 - PROXY_LIMITS.maxPendingAuthentications) {
        cut();
      }
    }, 200);
    const deadline = setTimeout(cut, 60_000);
    await Promise.all(sessions.map((session, s) => Promise.all(Array.from({ length: 100 }, (_, i) => new Promise<void>((resolve) => {
      const authorization = credentials[(s * 100 + i) % credentials.length];
      const stream = session.request({ ':method': 'POST', ':path': '/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution',
        'content-type': 'application/grpc', te: 'trailers', ...(authorization ? { authorization } : {}) });
      let settled = false;
      const entry = { stream: undefined as unknown as import('node:http2').ClientHttp2Stream, settle: () => undefined as void };
      const done = (what: string) => {
        open.delete(entry);
        if (!settled) {
          settled = true;
          outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
          resolve();
        }
      };
      stream.on('response', (headers) => {
        done(String(headers['grpc-status']));
        stream.close();
      });
      stream.on('error', () => done('reset'));
      stream.on('close', () => done('closed'));
      stream.write(prefix);
      let sent = 0;
      const pump = (): void => {
        while (sent < 48 && !stream.destroyed) {
          sent += 1;
          if (!stream.write(chunk)) {
            stream.once('drain', pump);
            return;
          }
        }
      };
      pump();
      entry.stream = stream;
      entry.settle = () => done('closed');
      open.add(entry);
    })))));
    clearInterval(watch);
    clearTimeout(deadline);
    const peak = memory(pid).peak;
    sessions.forEach((s) => s.destroy());
    const growth = peak - baseline;
    process.stderr.write(`[memory] proxy baseline ${Math.round(baseline / MiB)} MiB, peak ${Math.round(peak / MiB)} MiB, ` +
      `growth ${Math.round(growth / MiB)} MiB over 1,600 calls of 48 MiB; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}\n`);
    // Refused without being read: UNAUTHENTICATED (16) for every call without a credential or with a bad key (those
    // verify at once, whatever waits on the identity provider), RESOURCE_EXHAUSTED (8) for tokens past the 64 being
    // verified at once; those 64 wait on the key set until the client gives up.
    expect([...outcomes.keys()].filter((k) => !['16', '8', 'closed'].includes(k))).toEqual([]);
    expect(outcomes.get('16')).toBeGreaterThanOrEqual(1_067);
    expect(outcomes.get('closed') ?? 0).toBeLessThanOrEqual(64);
    expect(growth).toBeLessThan(64 * MiB);
    expect(PROXY_LIMITS.maxPendingAuthentications * 64 * 1024).toBeLessThanOrEqual(4 * MiB);
  }, 120_000);
});

describe('the codec server under 64 concurrent maximum-size requests', () => {
  let pki: TestPki;
  let codec: ChildProcess | undefined;

  beforeAll(async () => {
    pki = await testPki();
  });

  afterAll(() => stop(codec));

  it('does answer every request (200 or 503) and stay under its 512 MiB limit, with the budget and heap the construct sets', async () => {
    const key = createApiKey('ci-1', 'ci', new Date(Date.now() + 86_400_000));
    const keysDir = join(pki.dir, 'm-keys', 'orders');
    mkdirSync(keysDir, { recursive: true });
    writeFileSync(join(keysDir, 'k1.key'), randomBytes(32).toString('base64'));
    writeFileSync(join(keysDir, 'active'), 'k1');
    const limit = 512 * MiB;
    const maxBody = CODEC_LIMITS.maxBodyBytes;
    const started = await startBundle('codec-server', {
      [CODEC_ENV.listen]: '127.0.0.1:0', [CODEC_ENV.httpListen]: '127.0.0.1:0',
      [CODEC_ENV.certFile]: pki.file('m-codec.crt', pki.proxyServer.cert), [CODEC_ENV.keyFile]: pki.file('m-codec.key', pki.proxyServer.key),
      [CODEC_ENV.clientCaFiles]: pki.file('m-workload2.crt', pki.workloadCa.cert), [CODEC_ENV.trustDomain]: 'cluster.local',
      [CODEC_ENV.keysDir]: join(pki.dir, 'm-keys'),
      [CODEC_ENV.policyFile]: pki.file('m-codec-policy.json', JSON.stringify({ rules: [{ name: 'ci', apiKey: { owner: 'ci' },
        grants: { orders: 'write' } }] })),
      [CODEC_ENV.apiKeysFile]: pki.file('m-codec-keys.json', JSON.stringify({ keys: [key.record] })),
      [CODEC_ENV.maxInFlightBytes]: String(codecInFlightBudget(limit, maxBody)),
      [CODEC_ENV.logLevel]: 'info',
    }, [`--max-old-space-size=${Math.floor((limit * 0.75) / MiB)}`]);
    codec = started.child;
    const port = Number(started.line.port);
    // One payload per request whose JSON is just under the 4 MiB body limit.
    const data = randomBytes(Math.floor((maxBody - 1024) * 3 / 4)).toString('base64');
    const body = JSON.stringify({ payloads: [{ metadata: { encoding: Buffer.from('binary/plain').toString('base64') }, data }] });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(maxBody);
    const agent = new Agent({ ca: pki.frontendCa.cert + pki.root.cert, keepAlive: true, maxSockets: 64 });
    const statuses = await Promise.all(Array.from({ length: 64 }, () => new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/encode', method: 'POST', agent, servername: 'localhost',
        headers: { 'content-type': 'application/json', 'x-namespace': 'orders', authorization: `Bearer ${key.key}`,
          'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    })));
    agent.destroy();
    const peak = memory(codec.pid as number).peak;
    const counts = statuses.reduce<Record<number, number>>((all, s) => ({ ...all, [s]: (all[s] ?? 0) + 1 }), {});
    process.stderr.write(`[memory] codec server peak ${Math.round(peak / MiB)} MiB under 64 requests of 4 MiB ` +
      `(budget ${Math.round(codecInFlightBudget(limit, maxBody) / MiB)} MiB in flight); statuses ${JSON.stringify(counts)}\n`);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(counts[200]).toBeGreaterThan(0);
    expect(codec.exitCode).toBeNull();
    expect(peak).toBeLessThan(limit);
  }, 120_000);
});
