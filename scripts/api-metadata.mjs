// Reads the Temporal server's own API table, `common/api/metadata.go` of the pinned server module, and writes it
// as test/authorizer/fixtures/server-api-metadata.json (what test/authorizer/api-metadata.test.ts checks
// lib/authorizer/api.ts against). `npm run api:metadata` regenerates the fixture.
//
//   node scripts/api-metadata.mjs                  write the fixture
//   node scripts/api-metadata.mjs --print          print it instead
//   node scripts/api-metadata.mjs --source FILE    parse FILE instead of the module's metadata.go
//
// The module is read from the Go module cache (`go env GOMODCACHE`); when it is not there, `go mod download`
// fetches it. The parser understands exactly the declarations metadata.go is made of (the enums, the service
// prefixes, the per-service maps and GetMethodMetadata's switch) and stops with the file and line of anything
// else that could change what an API needs, rather than skip it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVER_MODULE = 'go.temporal.io/server';
/** The server release the images run (lib/core/images.ts TEMPORAL_VERSION). */
export const SERVER_VERSION = 'v1.31.2';
/** The table's file, relative to the module root. */
export const SOURCE = 'common/api/metadata.go';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURE = join(root, 'test', 'authorizer', 'fixtures', 'server-api-metadata.json');

/** A line of metadata.go the parser does not understand. */
export class MetadataParseError extends Error {
  constructor(file, line, message) {
    super(`${file}:${line}: ${message}`);
    this.name = 'MetadataParseError';
    this.file = file;
    this.line = line;
  }
}

/** The module's directory in the module cache (`!`-escaped upper case, as Go stores it), existing or not. */
export function cachedModuleDir(modCache = goEnv('GOMODCACHE')) {
  const escaped = SERVER_MODULE.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
  return join(modCache, `${escaped}@${SERVER_VERSION}`);
}

function goEnv(name) {
  return execFileSync('go', ['env', name], { encoding: 'utf8' }).trim();
}

/** The module's directory: from the module cache, or fetched with `go mod download` into it. */
export function serverModuleDir() {
  const cached = cachedModuleDir();
  if (existsSync(join(cached, SOURCE))) {
    return cached;
  }
  // Outside any module, so that no go.mod around the checkout takes part.
  const scratch = mkdtempSync(join(tmpdir(), 'api-metadata-'));
  let output;
  try {
    output = execFileSync('go', ['mod', 'download', '-json', `${SERVER_MODULE}@${SERVER_VERSION}`],
      { cwd: scratch, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } });
  } catch (err) {
    output = String(err.stdout ?? '');
    if (!output.trim().startsWith('{')) {
      throw new Error(`go mod download ${SERVER_MODULE}@${SERVER_VERSION} failed: ${String(err.stderr ?? err.message).trim()}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const info = JSON.parse(output);
  if (info.Error || !info.Dir) {
    throw new Error(`go mod download ${SERVER_MODULE}@${SERVER_VERSION} failed: ${info.Error ?? 'no Dir in its answer'}`);
  }
  return info.Dir;
}

/**
 * Splits Go source into lines without comments, keeping line numbers. String literals are kept as written (a
 * `//` inside one is not a comment); raw (backquoted) strings are not understood.
 */
function codeLines(text, file) {
  const lines = [];
  let inBlock = false;
  text.split('\n').forEach((raw, i) => {
    let code = '';
    for (let j = 0; j < raw.length; j++) {
      if (inBlock) {
        if (raw.startsWith('*/', j)) {
          inBlock = false;
          j++;
        }
        continue;
      }
      const c = raw[j];
      if (c === '`') {
        throw new MetadataParseError(file, i + 1, 'raw string literals are not understood');
      }
      if (c === '"') {
        const end = raw.slice(j).match(/^"(?:[^"\\]|\\.)*"/);
        if (!end) {
          throw new MetadataParseError(file, i + 1, 'unterminated string literal');
        }
        code += end[0];
        j += end[0].length - 1;
      } else if (raw.startsWith('//', j)) {
        break;
      } else if (raw.startsWith('/*', j)) {
        inBlock = true;
        j++;
      } else {
        code += c;
      }
    }
    lines.push({ no: i + 1, code: code.trimEnd(), indented: /^\s/.test(code) });
  });
  if (inBlock) {
    throw new MetadataParseError(file, lines.length, 'unterminated block comment');
  }
  return lines.filter((l) => l.code.trim() !== '').map((l) => ({ ...l, code: l.code.trim() }));
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';

/**
 * The server's API table from the text of metadata.go: per service (full gRPC name), each method's scope, access
 * and polling constants as the server names them (`ScopeNamespace`, `AccessReadOnly`, `PollingAlways`), or the one
 * answer for every method of a service the server answers as a whole (AdminService), and the answer for the rest.
 * Throws MetadataParseError, naming the line, on anything it does not understand.
 */
export function parseMetadata(text, file = SOURCE) {
  const lines = codeLines(text, file);
  const fail = (line, message) => {
    throw new MetadataParseError(file, line.no, `${message} (got: ${line.code})`);
  };
  /** Named types: `{ kind: 'basic', of }` or `{ kind: 'struct', fields: Map<field, type> }`. */
  const types = new Map();
  /** Enum constants: name -> { type, value }. */
  const enums = new Map();
  /** String constants: name -> value. */
  const strings = new Map();
  /** Metadata maps: variable -> { line, methods: Map<name, entry> }. */
  const maps = new Map();
  /** GetMethodMetadata's cases, in order. */
  let cases;
  let i = 0;
  const next = () => lines[i++];
  const blockOf = (opener, each) => {
    for (let line = next(); ; line = next()) {
      if (line === undefined) {
        fail(opener, 'block is not closed');
      }
      if (line.code === ')') {
        return;
      }
      each(line);
    }
  };

  const structLiteral = (line, literal) => {
    const struct = types.get('MethodMetadata');
    if (struct?.kind !== 'struct') {
      fail(line, 'MethodMetadata is used before its struct type is declared');
    }
    const body = literal.match(/^\{(.*)\}$/);
    if (!body) {
      fail(line, 'expected a MethodMetadata literal {Field: Constant, ...}');
    }
    const set = new Map();
    for (const part of body[1].split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const kv = part.match(new RegExp(`^(${IDENT}):\\s*(${IDENT})$`));
      if (!kv) {
        fail(line, `expected Field: Constant, not "${part}"`);
      }
      const [, field, constant] = kv;
      if (!struct.fields.has(field)) {
        fail(line, `MethodMetadata has no field ${field}`);
      }
      if (set.has(field)) {
        fail(line, `field ${field} is set twice`);
      }
      if (enums.get(constant)?.type !== struct.fields.get(field)) {
        fail(line, `${constant} is not a ${struct.fields.get(field)} constant`);
      }
      set.set(field, constant);
    }
    // Fields left out hold the zero value: the enum's iota-0 constant (ScopeUnknown and so on).
    return Object.fromEntries([...struct.fields].map(([field, type]) => [lowerFirst(field),
      set.get(field) ?? [...enums].find(([, e]) => e.type === type && e.value === 0)[0]]));
  };

  const typeSpec = (line, spec) => {
    const basic = spec.match(new RegExp(`^(${IDENT})\\s+(u?int(?:8|16|32|64)?)$`));
    const struct = spec.match(new RegExp(`^(${IDENT})\\s+struct\\s*\\{$`));
    if (basic) {
      types.set(basic[1], { kind: 'basic', of: basic[2] });
    } else if (struct) {
      const fields = new Map();
      for (let field = next(); field?.code !== '}'; field = next()) {
        if (field === undefined) {
          fail(line, 'struct is not closed');
        }
        const f = field.code.match(new RegExp(`^(${IDENT})\\s+(${IDENT})$`));
        if (!f || types.get(f[2])?.kind !== 'basic') {
          fail(field, `expected a field of a declared integer type in struct ${struct[1]}`);
        }
        fields.set(f[1], f[2]);
      }
      types.set(struct[1], { kind: 'struct', fields });
    } else {
      fail(line, 'expected an integer type or a struct type');
    }
  };

  const constBlock = (opener) => {
    let iota;
    blockOf(opener, (line) => {
      const first = line.code.match(new RegExp(`^(${IDENT})\\s+(${IDENT})\\s*=\\s*iota$`));
      const repeat = line.code.match(new RegExp(`^(${IDENT})$`));
      const string = line.code.match(new RegExp(`^(${IDENT})(?:\\s+string)?\\s*=\\s*("(?:[^"\\\\]|\\\\.)*")$`));
      if (first) {
        if (types.get(first[2])?.kind !== 'basic') {
          fail(line, `${first[2]} is not a declared integer type`);
        }
        iota = { type: first[2], value: 0 };
        enums.set(first[1], { ...iota });
      } else if (repeat && iota) {
        iota.value++;
        enums.set(repeat[1], { ...iota });
      } else if (string) {
        iota = undefined;
        strings.set(string[1], JSON.parse(string[2]));
      } else {
        fail(line, 'expected an iota enum or a string constant');
      }
    });
  };

  const mapDecl = (line, spec) => {
    const head = spec.match(new RegExp(`^(${IDENT})\\s*=\\s*map\\[string\\]MethodMetadata\\{$`));
    if (!head) {
      fail(line, 'expected name = map[string]MethodMetadata{');
    }
    if (maps.has(head[1])) {
      fail(line, `${head[1]} is declared twice`);
    }
    const methods = new Map();
    for (let entry = next(); entry?.code !== '}'; entry = next()) {
      if (entry === undefined) {
        fail(line, 'map literal is not closed');
      }
      const m = entry.code.match(/^"([A-Za-z0-9_]+)":\s*(\{.*\}),$/);
      if (!m) {
        fail(entry, 'expected "Method": {Field: Constant, ...},');
      }
      if (methods.has(m[1])) {
        fail(entry, `${m[1]} is listed twice in ${head[1]}`);
      }
      methods.set(m[1], structLiteral(entry, m[2]));
    }
    maps.set(head[1], { line, methods });
  };

  const getMethodMetadata = (opener) => {
    cases = [];
    const sw = next();
    if (sw?.code !== 'switch {') {
      fail(sw ?? opener, 'expected GetMethodMetadata to be one switch {');
    }
    for (let line = next(); line?.code !== '}'; line = next()) {
      if (line === undefined) {
        fail(sw, 'switch is not closed');
      }
      const prefix = line.code.match(new RegExp(`^case strings\\.HasPrefix\\((${IDENT}),\\s*(${IDENT})\\):$`));
      if (!prefix && line.code !== 'default:') {
        fail(line, 'expected case strings.HasPrefix(name, SomePrefix): or default:');
      }
      const ret = next();
      const fromMap = ret?.code.match(new RegExp(`^return (${IDENT})\\[MethodName\\((${IDENT})\\)\\]$`));
      const literal = ret?.code.match(/^return MethodMetadata(\{.*\})$/);
      if (!fromMap && !literal) {
        fail(ret ?? line, 'expected return someMetadata[MethodName(name)] or return MethodMetadata{...}');
      }
      if (fromMap && !maps.has(fromMap[1])) {
        fail(ret, `${fromMap[1]} is not a declared metadata map`);
      }
      let service;
      if (prefix) {
        const value = strings.get(prefix[2]);
        service = value?.match(/^\/([A-Za-z0-9_.]+)\/$/)?.[1];
        if (!service) {
          fail(line, `${prefix[2]} is not a declared "/package.Service/" constant`);
        }
      }
      cases.push({ line, service, map: fromMap?.[1], all: literal ? structLiteral(ret, literal[1]) : undefined });
    }
    const close = next();
    if (close?.code !== '}' || close.indented) {
      fail(close ?? sw, 'expected the end of GetMethodMetadata after its switch');
    }
  };

  // Other functions (MethodName, ServiceName) are skipped, unless they touch the table.
  const skipFunction = (opener, name) => {
    const touches = new RegExp(`\\b(?:MethodMetadata|${[...maps.keys(), ...enums.keys()].join('|') || 'MethodMetadata'})\\b`);
    for (let line = next(); !(line?.code === '}' && !line.indented); line = next()) {
      if (line === undefined) {
        fail(opener, `function ${name} is not closed`);
      }
      if (touches.test(line.code)) {
        fail(line, `function ${name} uses the method table in a way this parser does not read`);
      }
    }
  };

  const first = next();
  if (first?.code !== 'package api') {
    fail(first ?? { no: 1, code: '' }, 'expected package api');
  }
  for (let line = next(); line !== undefined; line = next()) {
    const { code } = line;
    let m;
    if (/^import\s+"[^"]+"$/.test(code)) {
      continue;
    } else if (code === 'import (') {
      blockOf(line, (l) => /^(?:[A-Za-z_.][A-Za-z0-9_]*\s+)?"[^"]+"$/.test(l.code) || fail(l, 'expected an import path'));
    } else if (code === 'type (') {
      blockOf(line, (l) => typeSpec(l, l.code));
    } else if ((m = code.match(/^type\s+(.*)$/))) {
      typeSpec(line, m[1]);
    } else if (code === 'const (') {
      constBlock(line);
    } else if (code === 'var (') {
      blockOf(line, (l) => mapDecl(l, l.code));
    } else if ((m = code.match(/^var\s+(.*)$/))) {
      mapDecl(line, m[1]);
    } else if ((m = code.match(new RegExp(`^func\\s+(?:\\([^)]*\\)\\s*)?(${IDENT})\\(.*\\{$`)))) {
      if (m[1] === 'GetMethodMetadata') {
        getMethodMetadata(line);
      } else {
        skipFunction(line, m[1]);
      }
    } else {
      fail(line, 'expected a top-level import, type, const, var or func declaration');
    }
  }

  if (cases === undefined) {
    throw new MetadataParseError(file, lines.at(-1)?.no ?? 1, 'no GetMethodMetadata function: which map serves which service?');
  }
  const services = {};
  let unlisted;
  for (const c of cases) {
    if (c.service === undefined) {
      if (unlisted !== undefined) {
        fail(c.line, 'default: appears twice');
      }
      unlisted = c.all;
      continue;
    }
    if (services[c.service] !== undefined) {
      fail(c.line, `${c.service} has two cases`);
    }
    services[c.service] = c.map !== undefined
      ? { table: c.map, methods: Object.fromEntries(maps.get(c.map).methods) }
      : { everyMethod: c.all };
  }
  for (const [name, { line }] of maps) {
    if (!cases.some((c) => c.map === name)) {
      fail(line, `${name} serves no service in GetMethodMetadata`);
    }
  }
  if (unlisted === undefined) {
    throw new MetadataParseError(file, cases.at(-1)?.line.no ?? 1, 'GetMethodMetadata has no default: case');
  }
  return {
    header: {
      module: SERVER_MODULE, version: SERVER_VERSION, source: SOURCE,
      generator: 'scripts/api-metadata.mjs (npm run api:metadata)',
    },
    services,
    unlistedServices: unlisted,
  };
}

function lowerFirst(s) {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function sortKeys(value) {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

/** The fixture's text: keys sorted at every level, two-space indent, a final newline. */
export function renderFixture(table) {
  return `${JSON.stringify(sortKeys(table), null, 2)}\n`;
}

function main(argv) {
  const print = argv.includes('--print');
  const at = argv.indexOf('--source');
  const unknown = argv.filter((a, k) => a !== '--print' && a !== '--source' && !(at >= 0 && k === at + 1));
  if (unknown.length > 0 || (at >= 0 && argv[at + 1] === undefined)) {
    process.stderr.write('usage: node scripts/api-metadata.mjs [--print] [--source FILE]\n');
    return 2;
  }
  const file = at >= 0 ? resolve(argv[at + 1]) : join(serverModuleDir(), SOURCE);
  const text = renderFixture(parseMetadata(readFileSync(file, 'utf8'), at >= 0 ? file : SOURCE));
  if (print) {
    process.stdout.write(text);
  } else {
    mkdirSync(dirname(FIXTURE), { recursive: true });
    writeFileSync(FIXTURE, text);
    process.stderr.write(`wrote ${FIXTURE} from ${file}\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`api-metadata: ${err instanceof Error ? err.message : err}\n`);
    process.exitCode = 1;
  }
}
