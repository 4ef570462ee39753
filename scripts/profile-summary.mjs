#!/usr/bin/env node
/**
 * Where a program's CPU went, from a V8 CPU profile (`node --cpu-prof`): self time per function and per area
 * (Node's HTTP/2, TLS and streams, the program's own code, its libraries, garbage collection), in ms and, given the
 * number of calls the program served while it was profiled, in µs per call. Idle time is left out.
 *
 *   node scripts/profile-summary.mjs PROFILE.cpuprofile [--calls N] [--top 30] [--last SECONDS] [--json]
 *
 * `--last S` counts only the last S seconds of the profile (e.g. the measured rounds of a benchmark, after its
 * start-up and warm-up; give the calls made in them).
 * * The program's own time is also given per source module where its script is an esbuild bundle with module comments
 * (build/synth-app.js, not minified): `cdk8s`, `yaml`, `constructs`, the library's `lib/...`.
 *
 * The benchmarks print the calls they made (bench:proxy: the proxy's `calls`; bench:codec: requests), and take
 * node flags for the program they measure (E2E_PROXY_NODE_ARGS, CODEC_NODE_ARGS): see docs/OPERATIONS.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (file === undefined) {
  process.stderr.write('usage: node scripts/profile-summary.mjs PROFILE.cpuprofile [--calls N] [--top 30] [--last SECONDS] [--json]\n');
  process.exit(2);
}
const calls = Number(option('--calls', 0));
const top = Number(option('--top', 30));
const lastUs = Number(option('--last', 0)) * 1e6;

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
// Self time: each sample is charged to the node it was taken in, for the time until the next sample.
const selfUs = new Map();
const from = lastUs > 0 ? profile.endTime - lastUs : -Infinity;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  const delta = profile.timeDeltas[i + 1] ?? 0;
  if (at >= from) {
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
});

/** Node's own modules, by the area of the data path they serve (first match wins). */
const NODE_AREAS = [
  [/^node:(internal\/)?http2/, 'node: HTTP/2 (JavaScript side)'],
  [/^node:(internal\/)?(_?tls|tls\/)/, 'node: TLS (JavaScript side)'],
  [/^node:(internal\/)?(streams|stream|_stream)/, 'node: streams'],
  [/^node:(internal\/)?(net|stream_base_commons)$/, 'node: sockets'],
  [/^node:(internal\/)?(https?|_http)/, 'node: HTTP/1.1'],
  [/^node:events$/, 'node: events (emit, listeners)'],
  [/^node:(async_hooks|internal\/util)$/, 'node: async_hooks and util (AsyncResource.bind, deprecate)'],
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
        const m = /^\/\/ ((?:node_modules\/)?\S+\.(?:ts|js|mjs|cjs))$/.exec(text);
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
  if (parts[0] === 'node_modules') {
    const at = parts.lastIndexOf('node_modules');
    return parts[at + 1].startsWith('@') ? `${parts[at + 1]}/${parts[at + 2]}` : parts[at + 1];
  }
  return parts.slice(0, -1).join('/') || parts[0];
}

const functions = new Map();
const areas = new Map();
const modules = new Map();
for (const [id, us] of selfUs) {
  const { callFrame } = byId.get(id);
  const where = callFrame.url ? `${basename(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
  const key = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
  functions.set(key, (functions.get(key) ?? 0) + us);
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
  file: basename(file), busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), calls,
  ...(calls > 0 ? { busyUsPerCall: Math.round((busyUs / calls) * 10) / 10 } : {}),
  areas: sorted(areas).map(([name, us]) => row(name, us)),
  ...(modules.size > 0 ? { modules: sorted(modules).map(([name, us]) => row(name, us)) } : {}),
  functions: sorted(functions).slice(0, top).map(([name, us]) => row(name, us)),
};

if (args.includes('--json')) {
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
