/**
 * scripts/profile-summary.mjs: self time of a V8 CPU profile by area, function and source module, in µs per call.
 * A profile is built here with known samples, so every figure has an exact expected value.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const script = join(__dirname, '..', '..', 'scripts', 'profile-summary.mjs');
const dir = mkdtempSync(join(tmpdir(), 'profile-summary-'));

/** A bundle with two modules, as esbuild writes them (a `// path` comment opens each). */
const bundle = join(dir, 'app.js');
writeFileSync(bundle, ['"use strict";', '// ../node_modules/yaml/dist/stringify.js', 'function a() {}', '', '// lib/temporal/server.ts',
  'function b() {}', ''].join('\n'));

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0, scriptId: '0' });
const nodes = [
  { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5, 6, 7, 8] },
  { id: 2, callFrame: frame('(idle)') },
  { id: 3, callFrame: frame('(garbage collector)') },
  { id: 4, callFrame: frame('respond', 'node:internal/http2/core', 99) },
  { id: 5, callFrame: frame('stringifyPair', pathToFileURL(bundle).href, 2) },
  { id: 6, callFrame: frame('render', pathToFileURL(bundle).href, 5) },
  { id: 7, callFrame: frame('(program)') },
  { id: 8, callFrame: frame('writeGeneric', 'node:internal/stream_base_commons', 150) },
];

/** Samples as [node, µs spent in it]; the profile starts at 0. */
function profile(samples: [number, number][]): string {
  const file = join(dir, `p${Math.random().toString(36).slice(2)}.cpuprofile`);
  // V8's timeDeltas[i] is the time from the previous sample to sample i, so the time spent in sample i is
  // timeDeltas[i + 1]: a last (idle) sample closes the last one given.
  const all: [number, number][] = [...samples, [2, 0]];
  const timeDeltas = [0, ...samples.map(([, us]) => us)];
  const endTime = samples.reduce((t, [, us]) => t + us, 0);
  writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime, samples: all.map(([id]) => id), timeDeltas }));
  return file;
}

interface Row { name: string; ms: number; share: number; usPerCall?: number }
interface Summary { busyMs: number; idleMs: number; calls: number; busyUsPerCall?: number; areas: Row[]; modules?: Row[]; functions: Row[] }

function summary(file: string, ...args: string[]): Summary {
  return JSON.parse(execFileSync(process.execPath, [script, file, '--json', ...args], { encoding: 'utf8' })) as Summary;
}

const byName = (rows: Row[] | undefined) => Object.fromEntries((rows ?? []).map((r) => [r.name, r]));

describe('profile-summary', () => {
  // 10 ms idle, 2 ms GC, 4 ms HTTP/2, 3 ms yaml, 1 ms the library, 6 ms native: 16 ms busy.
  const file = profile([[2, 10_000], [3, 2000], [4, 4000], [5, 3000], [6, 1000], [7, 6000]]);

  test('self time by area, idle left out, in ms, share and µs per call', () => {
    const s = summary(file, '--calls', '8');
    expect(s.busyMs).toBe(16);
    expect(s.idleMs).toBe(10);
    expect(s.busyUsPerCall).toBe(2000);
    const areas = byName(s.areas);
    expect(areas['node: HTTP/2 (JavaScript side)']).toEqual({ name: 'node: HTTP/2 (JavaScript side)', ms: 4, share: 25, usPerCall: 500 });
    expect(areas['garbage collection'].usPerCall).toBe(250);
    expect(areas['the program (JavaScript)'].ms).toBe(4);
    expect(areas.idle).toBeUndefined();
    // Sorted by time, the largest first.
    expect(s.areas.map((a) => a.ms)).toEqual([...s.areas.map((a) => a.ms)].sort((x, y) => y - x));
  });

  test('functions are named with their script and line; the program by the module of its bundle', () => {
    const s = summary(file);
    expect(byName(s.functions)['respond core:100'].ms).toBe(4);
    expect(byName(s.functions)['stringifyPair app.js:3'].ms).toBe(3);
    expect(s.modules).toEqual([{ name: 'yaml', ms: 3, share: 18.8 }, { name: 'lib/temporal', ms: 1, share: 6.3 }]);
    expect(s.functions.every((f) => f.usPerCall === undefined)).toBe(true);
  });

  test('--last counts only the end of the profile', () => {
    // The last 10 ms: 3 of yaml, 1 of the library and 6 native.
    const s = summary(file, '--last', '0.010', '--calls', '2');
    expect(s.busyMs).toBe(10);
    expect(s.busyUsPerCall).toBe(5000);
    expect(byName(s.areas)['node: HTTP/2 (JavaScript side)']).toBeUndefined();
    expect(byName(s.areas)['garbage collection']).toBeUndefined();
  });

  test('several profiles are summed; the last sample of each counts until the profile\'s end', () => {
    // No closing idle sample here: the native code runs until the end (6 ms).
    const open = join(dir, 'open.cpuprofile');
    writeFileSync(open, JSON.stringify({ nodes, startTime: 0, endTime: 8000, samples: [8, 7], timeDeltas: [0, 2000] }));
    const s = summary(open, '--calls', '2');
    expect(byName(s.areas)['native code with no JavaScript frame (nghttp2, OpenSSL, libuv, V8) (program)'].ms).toBe(6);
    // Socket writes are the sockets' (stream_base_commons), not the streams'.
    expect(byName(s.areas)['node: sockets'].ms).toBe(2);
    expect(byName(s.areas)['node: streams']).toBeUndefined();
    const both = summary(open, '--json', file);
    expect(both.busyMs).toBe(8 + 16);
  });

  test('--top limits the functions listed', () => {
    expect(summary(file, '--top', '2').functions.map((f) => f.name)).toEqual(['(program)', 'respond core:100']);
  });

  test('without a profile, or with an option it does not know, it says how to call it', () => {
    for (const args of [[], ['--json'], [file, '--window', '3']]) {
      const run = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/usage: node scripts\/profile-summary\.mjs PROFILE\.cpuprofile/);
    }
  });
});
