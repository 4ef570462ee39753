import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { distance } from 'fastest-levenshtein';
import { isMap, isScalar, LineCounter, Node, parseDocument, YAMLMap } from 'yaml';
import { DURATION_PATTERN, SECRET_NAME_PATTERN, SecureTemporalValues } from './values';

/** One problem in a values file: where it is, what is wrong, what is allowed, how to fix it. */
export interface ValuesProblem {
  /** 1-based line and column in the file; 0 when the problem has no single place. */
  readonly line: number;
  readonly column: number;
  /** The field, e.g. `namespaces[0].retention` (empty for the whole file). */
  readonly field: string;
  readonly message: string;
  /** The allowed values or form, when the schema says. */
  readonly allowed?: string;
  readonly fix: string;
}

/** Thrown for a values file that does not parse or validate; `problems` lists every finding, in file order. */
export class ValuesError extends Error {
  constructor(public readonly file: string, public readonly problems: readonly ValuesProblem[]) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'ValuesError';
  }
}

export function formatProblem(file: string, p: ValuesProblem): string {
  const where = p.line > 0 ? `${file}:${p.line}:${p.column}` : file;
  const field = p.field ? `${p.field}: ` : '';
  const allowed = p.allowed ? ` Allowed: ${p.allowed}.` : '';
  return `${where}: ${field}${p.message}.${allowed} Fix: ${p.fix}`;
}

type Schema = Record<string, unknown>;

/** The published schema (schema/values.schema.json at the package root), found from the sources or the build. */
export function schemaFile(): string {
  const candidates = [join(__dirname, '..', 'schema', 'values.schema.json'), join(__dirname, '..', '..', 'schema', 'values.schema.json')];
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) {
    throw new Error(`the values schema is missing (looked for ${candidates.join(', ')}): reinstall the package`);
  }
  return found;
}

let compiled: ValidateFunction | undefined;

/**
 * The validator: the standalone one `npm run build` compiles next to this file (build/cli/values-validator.js), or
 * the schema compiled now (when running from the sources). Both with the same options.
 */
function validator(): ValidateFunction {
  if (compiled === undefined) {
    const standalone = join(__dirname, 'values-validator.js');
    if (existsSync(standalone)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a generated CommonJS module found at run time
      compiled = require(standalone) as ValidateFunction;
    } else {
      const schema = JSON.parse(readFileSync(schemaFile(), 'utf8')) as Schema;
      compiled = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(schema);
    }
  }
  return compiled;
}

/**
 * Parses and validates a values file. Returns the values, or throws `ValuesError` with every problem found, each
 * with its line and column: YAML syntax, duplicate keys, unknown fields, wrong types, values outside an enum, bad
 * durations and Secret names, missing required fields.
 */
export function loadValues(text: string, file = 'values.yaml'): SecureTemporalValues {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): { line: number; column: number } => {
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    throw new ValuesError(file, doc.errors.map((e) => ({
      ...position(e.pos[0]),
      field: '',
      message: `not valid YAML: ${e.message.split('\n')[0]}`,
      fix: e.code === 'DUPLICATE_KEY' ? 'give each key once' : 'correct the YAML syntax at this place',
    })));
  }
  const values = (doc.toJS() ?? {}) as unknown;
  const validate = validator();
  if (validate(values)) {
    return values as SecureTemporalValues;
  }
  const problems = explain(validate.errors ?? []).map((e) => describeError(e, doc.contents, position));
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  throw new ValuesError(file, dedupe(problems));
}

/**
 * Validates values that come without a file (e.g. a Pulumi stack's `secure-temporal:values` config object):
 * returns them, or throws ValuesError whose problems name the field (line and column 0).
 */
export function checkValues(values: unknown, where: string): SecureTemporalValues {
  const validate = validator();
  if (validate(values)) {
    return values as SecureTemporalValues;
  }
  const problems = explain(validate.errors ?? []).map((e) => describeError(e, undefined, () => ({ line: 0, column: 0 })));
  throw new ValuesError(where, dedupe(problems.map((p) => ({ ...p, line: 0, column: 0 }))));
}

/** Where a field sits in the file: the node at `path`, or for a key of a map (unknown field) the key itself. */
export function locate(root: unknown, path: readonly (string | number)[], key?: string): Node | undefined {
  let node = root;
  for (const step of path) {
    if (node && typeof node === 'object' && 'get' in node && typeof (node as YAMLMap).get === 'function') {
      // A map key that looks like a number ("5") comes back from the instance path as one.
      node = (node as YAMLMap).get(step, true) ?? (isMap(node) && typeof step === 'number' ? node.get(String(step), true) : undefined);
    } else {
      return undefined;
    }
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
    return (pair?.key as Node | undefined) ?? node;
  }
  return node as Node | undefined;
}

function pathOf(instancePath: string): (string | number)[] {
  return instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

export function fieldName(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, step) => (typeof step === 'number' ? `${out}[${step}]`
    : /^[A-Za-z_][A-Za-z0-9_]*$/.test(step) ? (out ? `${out}.${step}` : step) : `${out}[${JSON.stringify(step)}]`), '');
}

/**
 * Ajv reports every branch of a union (`false | {...}`) that did not match. Keep what the author meant: when a
 * branch failed deeper inside the value, its errors; otherwise one error at the union naming the alternatives.
 */
function explain(errors: readonly ErrorObject[]): ErrorObject[] {
  let kept = [...errors];
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const union of unions) {
    if (!kept.includes(union)) {
      continue;
    }
    // Items of one list share the union's schemaPath: only errors at or under this union's value belong to it.
    const under = (e: ErrorObject): boolean => e.instancePath === union.instancePath || e.instancePath.startsWith(`${union.instancePath}/`);
    const branchOf = (e: ErrorObject): string | undefined => (e !== union && under(e) && e.schemaPath.startsWith(`${union.schemaPath}/`)
      ? e.schemaPath.slice(union.schemaPath.length + 1).split('/')[0] : undefined);
    const byBranch = new Map<string, ErrorObject[]>();
    for (const e of kept) {
      const branch = branchOf(e);
      if (branch !== undefined) {
        byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
      }
    }
    // A branch is out when the value has the wrong shape for it, or a discriminator (a const field) says another.
    const depth = (e: ErrorObject): number => pathOf(e.instancePath).length - pathOf(union.instancePath).length;
    const candidates = [...byBranch.values()].filter((list) => !list.some((e) =>
      (depth(e) === 0 && (e.keyword === 'type' || e.keyword === 'const' || e.keyword === 'enum')) ||
      (depth(e) === 1 && e.keyword === 'const')));
    const chosen = candidates.sort((a, b) => a.length - b.length)[0];
    kept = kept.filter((e) => (branchOf(e) === undefined && e !== union) || (chosen !== undefined && chosen.includes(e)) ||
      (chosen === undefined && e === union));
  }
  return kept;
}

function dedupe(problems: ValuesProblem[]): ValuesProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.column}:${p.field}:${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

function describeSchema(schema: Schema): string {
  if (Array.isArray(schema.anyOf)) {
    return (schema.anyOf as Schema[]).map(describeSchema).join(' or ');
  }
  if (schema.const !== undefined) {
    return JSON.stringify(schema.const);
  }
  if (Array.isArray(schema.enum)) {
    return schema.enum.map((v) => JSON.stringify(v)).join(', ');
  }
  if (schema.type === 'object' && schema.properties) {
    const properties = schema.properties as Record<string, Schema>;
    const tag = Object.entries(properties).find(([, p]) => p.const !== undefined);
    const others = Object.keys(properties).filter((k) => k !== tag?.[0]);
    return tag ? `a map with ${tag[0]}: ${JSON.stringify(tag[1].const)} (and ${others.join(', ')})` : `a map with ${others.join(', ')}`;
  }
  if (schema.type === 'array') {
    return 'a list';
  }
  return Array.isArray(schema.type) ? schema.type.join(' or ') : String(schema.type ?? 'a value');
}

function firstSentence(schema: Schema | undefined): string {
  const text = typeof schema?.description === 'string' ? schema.description : '';
  const sentence = text.startsWith('Default:') ? '' : text.split(/\n|(?<=\.)\s+(?=[A-Z])/)[0].trim();
  return sentence ? ` (${sentence.replace(/\.$/, '')})` : '';
}

/** The closest of `options` to `word` by edit distance (case-insensitive), when close enough to be a likely typo. */
function closest(word: string, options: readonly string[]): string | undefined {
  const best = options.map((o) => ({ o, d: distance(word.toLowerCase(), o.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.o : undefined;
}

function describeError(e: ErrorObject, root: unknown, position: (offset: number) => { line: number; column: number }): ValuesProblem {
  const path = pathOf(e.instancePath);
  const parent = e.parentSchema as Schema | undefined;
  const at = (node: Node | undefined): { line: number; column: number } => (node?.range ? position(node.range[0]) : { line: 1, column: 1 });
  // A value in a field meant for a credential (a password where a Secret reference belongs) is never echoed.
  const last = path[path.length - 1];
  const sensitive = typeof last === 'string' && /^(password|clientSecret|token|credentials?)$/i.test(last);
  const got = e.data === undefined ? 'nothing' : Array.isArray(e.data) ? 'the list'
    : e.data !== null && typeof e.data === 'object' ? 'the map' : sensitive ? 'the value given' : JSON.stringify(e.data);
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String((e.params as { additionalProperty: string }).additionalProperty);
      const options = Object.keys((parent?.properties ?? {}) as object).sort();
      const guess = closest(name, options);
      return {
        ...at(locate(root, path, name)),
        field: fieldName([...path, name]),
        message: `unknown field "${name}"`,
        allowed: options.length > 0 ? options.join(', ') : 'no fields here',
        fix: guess ? `did you mean "${guess}"? Rename it` : 'remove it, or move it to where it belongs (docs/VALUES.md)',
      };
    }
    case 'required': {
      const name = String((e.params as { missingProperty: string }).missingProperty);
      const property = ((parent?.properties ?? {}) as Record<string, Schema>)[name];
      return {
        ...at(locate(root, path)),
        field: fieldName(path),
        message: `the field "${name}" is required here`,
        fix: `add ${name}: <${describeSchema(property ?? {})}>${firstSentence(property)}`,
      };
    }
    case 'enum':
    case 'const': {
      const allowed = Array.isArray(parent?.enum) ? (parent.enum as unknown[]) : [parent?.const];
      return {
        ...at(locate(root, path)),
        field: fieldName(path),
        message: `${got} is not allowed`,
        allowed: allowed.map((v) => JSON.stringify(v)).join(', '),
        fix: `use one of the allowed values${firstSentence(parent)}`,
      };
    }
    case 'anyOf':
      return {
        ...at(locate(root, path)),
        field: fieldName(path),
        message: `${got} is none of the accepted forms`,
        allowed: describeSchema(parent ?? {}),
        fix: `give one of the accepted forms${firstSentence(parent)}`,
      };
    case 'type':
      return {
        ...at(locate(root, path)),
        field: fieldName(path),
        message: `${got} is not ${describeSchema({ type: (e.params as { type: string }).type })}`,
        allowed: describeSchema(parent ?? {}),
        fix: `give ${describeSchema({ type: (e.params as { type: string }).type })}${firstSentence(parent)}`,
      };
    case 'pattern': {
      const pattern = (e.params as { pattern: string }).pattern;
      const duration = pattern === DURATION_PATTERN;
      const secret = pattern === SECRET_NAME_PATTERN;
      return {
        ...at(locate(root, path)),
        field: fieldName(path),
        message: duration ? `${got} is not a duration` : secret ? `${got} is not a Secret name` : `${got} does not match ${pattern}`,
        allowed: duration ? 'a whole number and a unit: ms, s, m, h or d' : secret ? 'a lower-case DNS name (a-z, 0-9, "-", ".")' : pattern,
        fix: duration ? 'write e.g. 72h, 3d, 30s' : secret ? 'give the name of a Secret in the installation\'s namespace' : `match ${pattern}`,
      };
    }
    default:
      return {
        ...at(locate(root, path)),
        field: fieldName(path),
        message: `${got} ${e.message ?? 'is not valid'}`,
        fix: `correct the value${firstSentence(parent)}`,
      };
  }
}
