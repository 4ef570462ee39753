/**
 * Benchmark: the codec server against the codec protocol's floor, measured in the same run. The floor
 * (bench/codec-floor.mjs) is a minimal Node HTTPS server that does only what the protocol forces: read the JSON body,
 * parse it, base64-decode every payload's data and metadata and encode them back, and answer the same JSON (no
 * authentication, no crypto). The codec server is the bundled program (build/services/codec-server.js), authenticated
 * as the Web UI's browsers are (a bearer JWT, verified against a JWKS on loopback). Each runs in a process of its own,
 * over the same TLS with keep-alive, at the same concurrency; the load comes from this process, alternating between the
 * two in rounds so that machine noise hits both alike. Cases: 1 KiB, 64 KiB and 1 MiB payloads, one per request and
 * batches of 100 (1 MiB single only: 100 of them are above the body limit), encode and decode.
 *
 * Then the memory bound: the codec server as the construct configures it for its default 512 MiB limit (the in-flight
 * budget and heap from the limit, the 4 MiB body limit), loaded with requests of the largest size at concurrency 16
 * and 64: its peak resident set (VmHWM) and the statuses it answered (200 or 503, nothing else).
 *
 * Targets: codec server ≥ 70 % of the floor's requests/s in every case; peak RSS under the limit at 16 and 64, every
 * request answered 200 or 503. The last line printed is one JSON object with the figures and a `met` flag per target.
 *
 *   npm run bench:codec
 *   SECONDS_PER_CASE=5 ROUNDS=3 CONCURRENCY=32 npm run bench:codec
 *   SIZES=none BUDGET_MIB=32 HEAP_MIB=256 npm run bench:codec   # the memory bound only, another budget and heap
 *   # where a request's CPU goes (function names kept in the bundle; see docs/OPERATIONS.md "Profiling"):
 *   BUNDLE_KEEP_NAMES=1 SIZES=1KiB BATCHES=1 CODEC_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof/codec" \
 *     FLOOR_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof/floor" npm run bench:codec
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encryptPayload, KeyRing, payloadToJson } from '../lib/codec';
import { CODEC_ENV, CODEC_LIMITS, codecInFlightBudget } from '../lib/codec/server-env';
import { IDP_AUDIENCE, IDP_ISSUER, identityProvider } from '../test/services/authorizer-proxy/harness';
import { testPki } from '../test/services/authorizer-proxy/test-pki';

const SECONDS = Number(process.env.SECONDS_PER_CASE ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const TARGET = 0.7;
const MiB = 1024 * 1024;
const ALL_SIZES: [string, number][] = [['1 KiB', 1024], ['64 KiB', 64 * 1024], ['1 MiB', MiB]];
/** SIZES=1KiB,1MiB runs only those. */
const SIZES = ALL_SIZES.filter(([label]) => process.env.SIZES === undefined || process.env.SIZES.split(',').includes(label.replace(' ', '')));
/** BATCHES=1 measures only one payload per request (e.g. to profile the fixed cost per request). */
const BATCHES = process.env.BATCHES === undefined ? undefined : process.env.BATCHES.split(',').map(Number);

interface Result { requests: number; payloads: number; seconds: number; statuses: Record<string, number> }

/** `concurrency` loops sending `body` to `path` for `seconds`: the requests answered 200, and every status seen. */
async function load(agent: Agent, port: number, token: string, path: string, body: string, payloadsPerRequest: number,
  seconds: number, concurrency: number): Promise<Result> {
  const result: Result = { requests: 0, payloads: 0, seconds: 0, statuses: {} };
  const count = (status: string) => {
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
  };
  const once = () => new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, servername: 'localhost', headers: {
      'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}`, 'x-namespace': 'orders',
    } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        count(String(res.statusCode));
        if (res.statusCode === 200) {
          result.requests += 1;
          result.payloads += payloadsPerRequest;
        }
        resolve();
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      count(e.code ?? 'error');
      resolve();
    });
    req.end(body);
  });
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
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

/** A field of /proc/<pid>/status in KiB (VmRSS: now, VmHWM: the peak). */
function memoryKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`)) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0);
}

/** Starts `args` with `env` and waits for its first stdout line that parses as JSON with a port. */
async function started(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '', ...env } });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before it listened`)));
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { port?: number };
        if (typeof parsed.port === 'number') {
          resolve(parsed.port);
        }
      } catch {
        // not a JSON line
      }
    });
  });
  child.stdout?.resume();
  return { child, port };
}

/** SIGTERM (a profile given by CODEC_NODE_ARGS is written on exit), SIGKILL after 5 s. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const program = join(__dirname, '..', 'build', 'services', 'codec-server.js');
  const pki = await testPki();
  const idp = await identityProvider();
  const keysDir = join(pki.dir, 'keys');
  mkdirSync(join(keysDir, 'orders'), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(join(keysDir, 'orders', 'k1.key'), key.toString('base64'));
  writeFileSync(join(keysDir, 'orders', 'active'), 'k1');
  const codecEnv = (more: Record<string, string>): Record<string, string> => ({
    [CODEC_ENV.listen]: '127.0.0.1:0', [CODEC_ENV.httpListen]: '127.0.0.1:0',
    [CODEC_ENV.certFile]: pki.file('codec.crt', pki.proxyServer.cert), [CODEC_ENV.keyFile]: pki.file('codec.key', pki.proxyServer.key),
    [CODEC_ENV.clientCaFiles]: pki.file('workload-ca.crt', pki.workloadCa.cert), [CODEC_ENV.trustDomain]: 'cluster.local',
    [CODEC_ENV.keysDir]: keysDir,
    [CODEC_ENV.policyFile]: pki.file('policy.json', JSON.stringify({ rules: [{ name: 'bench', jwt: { subject: 'bench' }, grants: { orders: 'write' } }] })),
    [CODEC_ENV.oidcIssuer]: IDP_ISSUER, [CODEC_ENV.oidcAudience]: IDP_AUDIENCE, [CODEC_ENV.oidcJwksUri]: idp.jwksUri,
    [CODEC_ENV.logLevel]: 'info',
    ...more,
  });
  // CODEC_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) go to `node` before the program, FLOOR_NODE_ARGS before
  // the floor's: profiling.
  const nodeArgs = (process.env.CODEC_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const floorArgs = (process.env.FLOOR_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  let codec: ChildProcess | undefined;
  let floor: ChildProcess | undefined;
  try {
    // The throughput cases: a body limit that takes a batch of 100 × 64 KiB, and a budget of as many in flight.
    const throughput = await started([...nodeArgs, program], codecEnv({ [CODEC_ENV.maxBodyBytes]: String(16 * MiB),
      [CODEC_ENV.maxInFlightBytes]: String(16 * MiB * CONCURRENCY) }));
    codec = throughput.child;
    const theFloor = await started([...floorArgs, join(__dirname, 'codec-floor.mjs')], { FLOOR_PORT: '0',
      FLOOR_CERT_FILE: pki.file('codec.crt', pki.proxyServer.cert), FLOOR_KEY_FILE: pki.file('codec.key', pki.proxyServer.key) });
    floor = theFloor.child;
    const token = await idp.sign({ sub: 'bench', exp: Math.floor(Date.now() / 1000) + 3600 });
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: pki.frontendCa.cert + pki.root.cert });
    const ring = new KeyRing({ k1: key }, 'k1');
    process.stdout.write(`codec server bench: ${ROUNDS} rounds of ${SECONDS} s per case and server, concurrency ${CONCURRENCY}, ${process.version}\n`);
    const cases: { payload: string; batch: number; operation: string; codecRps: number; floorRps: number; ratio: number;
      codecCpuUsPerRequest: number; floorCpuUsPerRequest: number; codecRequestsServed: number; floorRequestsServed: number;
      failures: Record<string, number> }[] = [];
    for (const [label, size] of SIZES) {
      const plain = { metadata: { encoding: Buffer.from('binary/plain') }, data: randomBytes(size) };
      const encrypted = payloadToJson(encryptPayload(plain, ring, { namespace: 'orders' }));
      const plainJson = payloadToJson(plain);
      for (const batch of (size >= MiB ? [1] : [1, 100]).filter((b) => BATCHES === undefined || BATCHES.includes(b))) {
        for (const [operation, payload] of [['encode', plainJson], ['decode', encrypted]] as const) {
          const body = JSON.stringify({ payloads: Array.from({ length: batch }, () => payload) });
          const servers = [{ name: 'codec', port: throughput.port, pid: codec.pid ?? 0 }, { name: 'floor', port: theFloor.port, pid: floor.pid ?? 0 }];
          const totals = new Map(servers.map((x) => [x.name, { requests: 0, seconds: 0, cpu: 0, failures: {} as Record<string, number> }]));
          const warmUp = new Map<string, number>();
          for (const server of servers) {
            const w = await load(agent, server.port, token, `/${operation}`, body, batch, 1, CONCURRENCY); // warm-up (same case)
            warmUp.set(server.name, w.requests);
          }
          for (let round = 0; round < ROUNDS; round += 1) {
            for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
              const cpu0 = cpuMs(server.pid);
              const r = await load(agent, server.port, token, `/${operation}`, body, batch, SECONDS, CONCURRENCY);
              const total = totals.get(server.name)!;
              total.cpu += cpuMs(server.pid) - cpu0;
              total.requests += r.requests;
              total.seconds += r.seconds;
              for (const [status, n] of Object.entries(r.statuses).filter(([st]) => st !== '200')) {
                total.failures[status] = (total.failures[status] ?? 0) + n;
              }
            }
          }
          const c = totals.get('codec')!;
          const f = totals.get('floor')!;
          const codecRps = c.requests / c.seconds;
          const floorRps = f.requests / f.seconds;
          cases.push({ payload: label, batch, operation, codecRps: Math.round(codecRps), floorRps: Math.round(floorRps),
            ratio: Math.round(codecRps / floorRps * 1000) / 1000,
            codecCpuUsPerRequest: Math.round(c.cpu / Math.max(1, c.requests) * 1000),
            floorCpuUsPerRequest: Math.round(f.cpu / Math.max(1, f.requests) * 1000),
            // Every request each server answered in this case, warm-up included (to divide a CPU profile by).
            codecRequestsServed: c.requests + (warmUp.get('codec') ?? 0), floorRequestsServed: f.requests + (warmUp.get('floor') ?? 0),
            failures: { ...c.failures, ...Object.fromEntries(Object.entries(f.failures).map(([k, v]) => [`floor ${k}`, v])) } });
        }
      }
    }
    agent.destroy();
    await stop(codec);
    await stop(floor);

    // The memory bound, with the construct's defaults: 512 MiB limit, 4 MiB bodies, the budget and heap it derives.
    const limit = 512 * MiB;
    const maxBody = CODEC_LIMITS.maxBodyBytes;
    const data = randomBytes(Math.floor((maxBody - 1024) * 3 / 4)).toString('base64');
    const largest = JSON.stringify({ payloads: [{ metadata: { encoding: Buffer.from('binary/plain').toString('base64') }, data }] });
    const memory: { concurrency: number; peakMiB: number; limitMiB: number; statuses: Record<string, number> }[] = [];
    for (const concurrency of [16, 64]) {
      const bounded = await started([`--max-old-space-size=${process.env.HEAP_MIB ?? Math.floor((limit * 0.75) / MiB)}`, program],
        codecEnv({ [CODEC_ENV.maxInFlightBytes]: String(process.env.BUDGET_MIB ? Number(process.env.BUDGET_MIB) * MiB
          : codecInFlightBudget(limit, maxBody)) }));
      codec = bounded.child;
      const many = new Agent({ keepAlive: true, maxSockets: concurrency, ca: pki.frontendCa.cert + pki.root.cert });
      const r = await load(many, bounded.port, token, '/encode', largest, 1, SECONDS * 2, concurrency);
      many.destroy();
      memory.push({ concurrency, peakMiB: Math.round(memoryKb(codec.pid ?? 0, 'VmHWM') / 1024), limitMiB: limit / MiB, statuses: r.statuses });
      await stop(codec);
    }

    process.stdout.write('\n| payload | per request | operation | codec server requests/s | floor requests/s | ratio | ' +
      'CPU per request, codec server / floor | failures |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n');
    for (const x of cases) {
      process.stdout.write(`| ${x.payload} | ${x.batch} | ${x.operation} | ${x.codecRps} | ${x.floorRps} | ${(x.ratio * 100).toFixed(1)} % | ` +
        `${x.codecCpuUsPerRequest} / ${x.floorCpuUsPerRequest} µs | ${JSON.stringify(x.failures)} |\n`);
    }
    for (const m of memory) {
      process.stdout.write(`\nlargest requests (${maxBody / MiB} MiB bodies) at concurrency ${m.concurrency}: peak RSS ${m.peakMiB} MiB ` +
        `of ${m.limitMiB} MiB; statuses ${JSON.stringify(m.statuses)}`);
    }
    const answered = (m: (typeof memory)[number]) => Object.keys(m.statuses).every((st) => st === '200' || st === '503')
      && (m.statuses['200'] ?? 0) > 0;
    const met = {
      // SIZES or BATCHES measure a subset: the targets are about every case.
      everyCaseMeasured: SIZES.length === ALL_SIZES.length && BATCHES === undefined,
      ...Object.fromEntries(cases.map((x) => [`floor70 ${x.payload.replace(' ', '')} x${x.batch} ${x.operation}`, x.ratio >= TARGET])),
      ...Object.fromEntries(memory.map((m) => [`rssUnderLimit c${m.concurrency}`, m.peakMiB < m.limitMiB && answered(m)])),
    };
    process.stdout.write(`\n${JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY, node: process.version, cases, memory, met })}\n`);
  } finally {
    await stop(codec);
    await stop(floor);
    await idp.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
