/**
 * Benchmark: the codec server's encode and decode throughput against raw AES-256-GCM measured in this same process
 * in the same run. The server is the bundled program (build/services/codec-server.js) in a process of its own, over
 * HTTPS with keep-alive, authenticated as the Web UI's browsers are (a bearer JWT, verified against a JWKS on
 * loopback); the load comes from this process. For 1 KiB, 64 KiB and 1 MiB payloads: single-payload requests, and
 * batches of 100 (1 KiB and 64 KiB; 100 × 1 MiB is above the body limit). Reports requests/s, payloads/s, MB/s,
 * the ratio to raw AES-GCM of the same direction, and the server's peak RSS.
 *
 *   npm run bench:codec
 *   SECONDS_PER_CASE=5 CONCURRENCY=32 npm run bench:codec
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { encryptPayload, KeyRing, payloadToJson } from '../lib/codec';
import { freePort, waitUntil } from '../test/e2e/net';
import { IDP_AUDIENCE, IDP_ISSUER, identityProvider } from '../test/services/authorizer-proxy/harness';
import { testPki } from '../test/services/authorizer-proxy/test-pki';

const SECONDS = Number(process.env.SECONDS_PER_CASE ?? 4);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const ALL_SIZES: [string, number][] = [['1 KiB', 1024], ['64 KiB', 64 * 1024], ['1 MiB', 1024 * 1024]];
/** SIZES=1KiB,1MiB runs only those. */
const SIZES = ALL_SIZES.filter(([label]) => process.env.SIZES === undefined || process.env.SIZES.split(',').includes(label.replace(' ', '')));

function rawAes(size: number, seconds: number): { encryptMBs: number; decryptMBs: number } {
  const key = randomBytes(32);
  const data = randomBytes(size);
  const measure = (fn: () => void): number => {
    let bytes = 0;
    const end = performance.now() + seconds * 1000;
    const start = performance.now();
    while (performance.now() < end) {
      fn();
      bytes += size;
    }
    return bytes / ((performance.now() - start) / 1000) / 1e6;
  };
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const sealed = Buffer.concat([cipher.update(data), cipher.final()]);
  const tag = cipher.getAuthTag();
  return {
    encryptMBs: measure(() => {
      const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
      c.update(data);
      c.final();
      c.getAuthTag();
    }),
    decryptMBs: measure(() => {
      const d = createDecipheriv('aes-256-gcm', key, nonce);
      d.setAuthTag(tag);
      d.update(sealed);
      d.final();
    }),
  };
}

interface Result { requests: number; payloads: number; bytes: number; seconds: number; errors: number }

async function load(agent: Agent, port: number, token: string, path: string, body: string, payloadsPerRequest: number,
  payloadBytes: number): Promise<Result> {
  const result: Result = { requests: 0, payloads: 0, bytes: 0, seconds: 0, errors: 0 };
  const once = () => new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, servername: 'localhost', headers: {
      'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}`, 'x-namespace': 'orders',
    } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if (res.statusCode === 200) {
          result.requests += 1;
          result.payloads += payloadsPerRequest;
          result.bytes += payloadsPerRequest * payloadBytes;
        } else {
          result.errors += 1;
        }
        resolve();
      });
    });
    req.on('error', () => {
      result.errors += 1;
      resolve();
    });
    req.end(body);
  });
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      await once();
    }
  }));
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks of 100 Hz). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const program = join(__dirname, '..', 'build', 'services', 'codec-server.js');
  const pki = await testPki();
  const idp = await identityProvider();
  const keysDir = join(pki.dir, 'keys');
  mkdirSync(keysDir);
  const key = randomBytes(32);
  writeFileSync(join(keysDir, 'k1.key'), key.toString('base64'));
  writeFileSync(join(keysDir, 'active'), 'k1');
  const port = await freePort();
  const httpPort = await freePort();
  // CODEC_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) go to `node` before the program: profiling.
  const nodeArgs = (process.env.CODEC_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const server = spawn(process.execPath, [...nodeArgs, program], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '',
      CODEC_LISTEN: `127.0.0.1:${port}`,
      CODEC_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      CODEC_TLS_CERT_FILE: pki.file('codec.crt', pki.proxyServer.cert),
      CODEC_TLS_KEY_FILE: pki.file('codec.key', pki.proxyServer.key),
      CODEC_CLIENT_CA_FILES: pki.file('workload-ca.crt', pki.workloadCa.cert),
      CODEC_TRUST_DOMAIN: 'cluster.local',
      CODEC_KEYS_DIR: keysDir,
      CODEC_POLICY_FILE: pki.file('policy.json', JSON.stringify({ rules: [{ name: 'bench', jwt: { subject: 'bench' }, grants: { orders: 'write' } }] })),
      CODEC_OIDC_ISSUER: IDP_ISSUER,
      CODEC_OIDC_AUDIENCE: IDP_AUDIENCE,
      CODEC_OIDC_JWKS_URI: idp.jwksUri,
      CODEC_MAX_BODY_BYTES: String(16 * 1024 * 1024),
    },
  });
  try {
    await waitUntil('the codec server', () => fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok, () => false),
      { timeoutMs: 20_000, intervalMs: 100 });
    const token = await idp.sign({ sub: 'bench', exp: Math.floor(Date.now() / 1000) + 3600 });
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: pki.frontendCa.cert + pki.root.cert });
    const ring = new KeyRing({ k1: key }, 'k1');
    const baseRss = rssKb(server.pid ?? 0);
    let peakRss = baseRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssKb(server.pid ?? 0));
    }, 50);
    const rows: string[] = [];
    process.stdout.write(`codec server bench: ${SECONDS} s per case, concurrency ${CONCURRENCY}, ${process.version}\n`);
    for (const [label, size] of SIZES) {
      const raw = rawAes(size, Math.min(2, SECONDS));
      const plain = { metadata: { encoding: Buffer.from('binary/plain') }, data: randomBytes(size) };
      const encrypted = payloadToJson(encryptPayload(plain, ring));
      const plainJson = payloadToJson(plain);
      for (const batch of size >= 1024 * 1024 ? [1] : [1, 100]) {
        for (const [operation, payload, rawMBs] of [['encode', plainJson, raw.encryptMBs], ['decode', encrypted, raw.decryptMBs]] as const) {
          const body = JSON.stringify({ payloads: Array.from({ length: batch }, () => payload) });
          await load(agent, port, token, `/${operation}`, body, batch, size); // warm-up (same case)
          const cpu0 = cpuMs(server.pid ?? 0);
          const r = await load(agent, port, token, `/${operation}`, body, batch, size);
          const serverCpu = cpuMs(server.pid ?? 0) - cpu0;
          const mbs = r.bytes / r.seconds / 1e6;
          rows.push(`| ${label} | ${batch} | ${operation} | ${Math.round(r.requests / r.seconds)} | ${Math.round(r.payloads / r.seconds)} | ` +
            `${mbs.toFixed(1)} | ${rawMBs.toFixed(0)} | ${(mbs / rawMBs * 100).toFixed(1)} % | ` +
            `${(serverCpu / Math.max(1, r.requests) * 1000).toFixed(0)} µs (${Math.round(serverCpu / (r.seconds * 10))} %) | ${r.errors} |`);
        }
      }
    }
    clearInterval(sampler);
    process.stdout.write('\n| payload | per request | operation | requests/s | payloads/s | MB/s | raw AES-GCM MB/s (same process) | ratio | ' +
      'server CPU per request (of one core) | errors |\n');
    process.stdout.write('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n');
    process.stdout.write(`${rows.join('\n')}\n`);
    process.stdout.write(`\nserver RSS: ${Math.round(baseRss / 1024)} MiB idle, peak ${Math.round(peakRss / 1024)} MiB ` +
      `(${CONCURRENCY} requests in flight; body limit 16 MiB)\n`);
    agent.destroy();
  } finally {
    server.kill('SIGTERM');
    await idp.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
