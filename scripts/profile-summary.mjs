#!/usr/bin/env node
/**
 * Where a program's CPU went, from V8 CPU profiles (`node --cpu-prof`): self time per function and per area
 * (Node's HTTP/2, TLS and streams, the program's own code, its libraries, garbage collection), in ms and, given the
 * number of calls the program served while it was profiled, in µs per call. Idle time is left out. Several profiles
 * (runs of the same program) are summed.
 *
 *   node scripts/profile-summary.mjs PROFILE.cpuprofile [MORE.cpuprofile ...] [--calls N] [--top 30] [--last SECONDS] [--json]
 *
 * `--last S` counts only the last S seconds of each profile (e.g. the measured rounds of a benchmark, after its
 * start-up and warm-up; give the calls made in them).
 *
 * The program's own time is also given per source module where its script is an esbuild bundle with module comments
 * (build/synth-app.js, not minified): `cdk8s`, `yaml`, `constructs`, the library's `lib/...`.
 *
 * The benchmarks print the calls they served (bench:proxy: `proxyCallsServed` and each concurrency's `calls`;
 * bench:codec: `codecRequestsServed`), and take node flags for the program they measure (E2E_PROXY_NODE_ARGS,
 * CODEC_NODE_ARGS, FLOOR_NODE_ARGS): see docs/OPERATIONS.md, "Profiling".
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

// Piped into `head`: stop quietly once the reader is gone.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const USAGE = 'usage: node scripts/profile-summary.mjs PROFILE.cpuprofile [MORE ...] [--calls N] [--top 30] [--last SECONDS] [--json]\n';
const WITH_VALUE = new Set(['--calls', '--top', '--last']);
const options = new Map();
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  if (WITH_VALUE.has(argv[i])) {
    options.set(argv[i], argv[i + 1]);
    i += 1;
  } else if (argv[i] === '--json') {
    options.set('--json', true);
  } else if (argv[i].startsWith('--')) {
    process.stderr.write(`unknown option ${argv[i]}\n${USAGE}`);
    process.exit(2);
  } else {
    files.push(argv[i]);
  }
}
if (files.length === 0) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const calls = Number(options.get('--calls') ?? 0);
const top = Number(options.get('--top') ?? 30);
const lastUs = Number(options.get('--last') ?? 0) * 1e6;

// Self time: each sample is charged to the node it was taken in, for the time until the next sample (the last one
// until the profile's end). Nodes are keyed by file and id.
const selfUs = new Map();
const frames = new Map();
for (const [f, file] of files.entries()) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  for (const node of profile.nodes) {
    frames.set(`${f}:${node.id}`, node.callFrame);
  }
  const from = lastUs > 0 ? profile.endTime - lastUs : -Infinity;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const delta = i + 1 < profile.samples.length ? profile.timeDeltas[i + 1] ?? 0 : Math.max(0, profile.endTime - at);
    if (at >= from) {
      const key = `${f}:${id}`;
      selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
    }
  });
}

/** Node's own modules, by the area of the data path they serve (first match wins). */
const NODE_AREAS = [
  [/^node:(internal\/)?http2/, 'node: HTTP/2 (JavaScript side)'],
  [/^node:(internal\/)?(_?tls|tls\/)/, 'node: TLS (JavaScript side)'],
  [/^node:(internal\/)?(net|stream_base_commons)$/, 'node: sockets'],
  [/^node:(internal\/)?(streams|stream|_stream)/, 'node: streams'],
  [/^node:(internal\/)?(https?|_http)/, 'node: HTTP/1.1'],
  [/^node:events$/, 'node: events (emit, listeners)'],
  [/^node:(internal\/)?(async_hooks|util)$/, 'node: async_hooks and util (AsyncResource.bind, deprecate)'],
  [/^node:(internal\/)?timers/, 'node: timers'],
  [/^node:internal\/process\/(task_queues|promises)/, 'node: microtasks and nextTick'],
  [/^node:(internal\/)?(crypto|crypto\/)/, 'node: crypto (JavaScript side)'],
  [/^node:(internal\/)?buffer$/, 'node: Buffer'],
];

/** The area a function belongs to, from its script. */
function area(frame) {
  const url = frame.url ?? '';
  const name = frame.functionName;
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(program)') return 'native code with no JavaScript frame (nghttp2, OpenSSL, libuv, V8) (program)';
  if (name === '(idle)') return 'idle';
  if (url.startsWith('node:')) {
    return NODE_AREAS.find(([pattern]) => pattern.test(url))?.[1] ?? 'node: other';
  }
  if (url === '') return `native: ${name || '(anonymous)'}`;
  return 'the program (JavaScript)';
}

/** For a bundled script, the source module each line belongs to (esbuild's `// path` comments), as sorted ranges. */
const bundles = new Map();
function moduleAt(url, line) {
  if (!bundles.has(url)) {
    const path = url.startsWith('file://') ? fileURLToPath(url) : url;
    const starts = [];
    if (path.startsWith('/') && existsSync(path)) {
      readFileSync(path, 'utf8').split('\n').forEach((text, i) => {
        const m = /^\/\/ (\S+\.(?:ts|js|mjs|cjs))$/.exec(text);
        if (m) starts.push([i, m[1]]);
      });
    }
    bundles.set(url, starts);
  }
  const starts = bundles.get(url);
  let found;
  for (const [start, name] of starts) {
    if (start > line) break;
    found = name;
  }
  if (found === undefined) return undefined;
  // A package (its name, scoped or not), or the project's own directory (lib/authorizer ...).
  const parts = found.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at >= 0) {
    return parts[at + 1].startsWith('@') ? `${parts[at + 1]}/${parts[at + 2]}` : parts[at + 1];
  }
  return parts.filter((p) => p !== '..' && p !== '.').slice(0, -1).join('/') || parts[parts.length - 1];
}

const functions = new Map();
const areas = new Map();
const modules = new Map();
for (const [key, us] of selfUs) {
  const callFrame = frames.get(key);
  const where = callFrame.url ? `${basename(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
  const name = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
  functions.set(name, (functions.get(name) ?? 0) + us);
  const a = area(callFrame);
  areas.set(a, (areas.get(a) ?? 0) + us);
  if (a === 'the program (JavaScript)') {
    const m = moduleAt(callFrame.url, callFrame.lineNumber);
    if (m !== undefined) modules.set(m, (modules.get(m) ?? 0) + us);
  }
}
const idleUs = areas.get('idle') ?? 0;
areas.delete('idle');
functions.delete('(idle)');
const busyUs = [...areas.values()].reduce((a, b) => a + b, 0);

const row = (name, us) => ({ name, ms: Math.round(us / 100) / 10, share: Math.round((us / busyUs) * 1000) / 10,
  ...(calls > 0 ? { usPerCall: Math.round((us / calls) * 10) / 10 } : {}) });
const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
const summary = {
  file: files.map((f) => basename(f)).join(', '), busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), calls,
  ...(calls > 0 ? { busyUsPerCall: Math.round((busyUs / calls) * 10) / 10 } : {}),
  areas: sorted(areas).map(([name, us]) => row(name, us)),
  ...(modules.size > 0 ? { modules: sorted(modules).map(([name, us]) => row(name, us)) } : {}),
  functions: sorted(functions).slice(0, top).map(([name, us]) => row(name, us)),
};

if (options.get('--json') === true) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  const unit = calls > 0 ? 'µs/call' : '';
  const line = (r) => `${String(r.ms).padStart(9)} ms ${String(r.share).padStart(5)} %${calls > 0 ? String(r.usPerCall).padStart(9) : ''}  ${r.name}`;
  process.stdout.write(`${summary.file}: busy ${summary.busyMs} ms, idle ${summary.idleMs} ms${calls > 0
    ? `, ${calls} calls, ${summary.busyUsPerCall} µs of CPU per call` : ''}\n\nby area (self time) ${unit}\n`);
  summary.areas.forEach((r) => process.stdout.write(`${line(r)}\n`));
  if (summary.modules) {
    process.stdout.write(`\nthe program by source module (self time) ${unit}\n`);
    summary.modules.forEach((r) => process.stdout.write(`${line(r)}\n`));
  }
  process.stdout.write(`\ntop ${top} functions (self time) ${unit}\n`);
  summary.functions.forEach((r) => process.stdout.write(`${line(r)}\n`));
}
