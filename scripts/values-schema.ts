/**
 * Generates schema/values.schema.json, the JSON Schema of the values file of `secure-temporal synth`, from the
 * TypeScript type `SecureTemporalValues` (cli/values.ts, itself derived from the chart's props types) with
 * typescript-json-schema, which reads the types through the compiler. Then: the duration and Secret-name fields get
 * their patterns, JSDoc `@default` prose moves into the description (it is not a value), and keys are sorted so the
 * bytes are stable. Run it after changing the props types: a unit test fails while the committed file is stale.
 *
 *   npx tsx scripts/values-schema.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as TJS from 'typescript-json-schema';
import { DURATION_FIELDS, DURATION_PATTERN, SECRET_FIELDS, SECRET_NAME_PATTERN } from '../cli/values';

export const SCHEMA_FILE = join(__dirname, '..', 'schema', 'values.schema.json');

type Schema = Record<string, unknown>;

/** The schema node at a dotted field path (`*` = array items or map values), or undefined. */
function at(schema: Schema, path: string): Schema[] {
  let nodes: Schema[] = [schema];
  for (const step of path.split('.')) {
    const next: Schema[] = [];
    for (const node of nodes.flatMap(branches)) {
      if (step === '*') {
        if (node.items) next.push(node.items as Schema);
        if (node.additionalProperties && typeof node.additionalProperties === 'object') next.push(node.additionalProperties as Schema);
        for (const value of Object.values((node.properties ?? {}) as Record<string, Schema>)) next.push(value);
      } else if (node.properties && (node.properties as Record<string, Schema>)[step]) {
        next.push((node.properties as Record<string, Schema>)[step]);
      }
    }
    nodes = next;
  }
  return nodes.flatMap(branches);
}

function branches(node: Schema): Schema[] {
  return Array.isArray(node.anyOf) ? (node.anyOf as Schema[]).flatMap(branches) : [node];
}

const SCHEMA_MAPS = new Set(['properties', 'definitions', 'patternProperties']);
const SCHEMA_LISTS = new Set(['anyOf', 'allOf', 'oneOf']);
const SCHEMA_CHILDREN = new Set(['items', 'additionalProperties', 'not']);

/** A schema node with sorted keys, and JSDoc `@default` prose moved into its description. */
function tidy(node: unknown): unknown {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    return node;
  }
  const source = node as Schema;
  const out: Schema = {};
  for (const key of Object.keys(source).sort()) {
    const value = source[key];
    if (SCHEMA_MAPS.has(key) && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.keys(value).sort().map((k) => [k, tidy((value as Schema)[k])]));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map(tidy);
    } else if (SCHEMA_CHILDREN.has(key)) {
      out[key] = tidy(value);
    } else {
      out[key] = value;
    }
  }
  // JSDoc `@default` is prose or a code expression more often than a value: keep only booleans, numbers and enum members.
  const keep = typeof out.default === 'boolean' || typeof out.default === 'number' ||
    (Array.isArray(out.enum) && out.enum.includes(out.default));
  if (out.default !== undefined && !keep) {
    const prose = typeof out.default === 'string' ? out.default.replace(/^-\s*/, '') : JSON.stringify(out.default);
    out.description = out.description ? `${out.description}\n\nDefault: ${prose}` : `Default: ${prose}`;
    delete out.default;
  }
  return out;
}

export function generateValuesSchema(): string {
  const program = TJS.getProgramFromFiles([join(__dirname, '..', 'cli', 'values.ts')], {
    strict: true, esModuleInterop: true, skipLibCheck: true, types: ['node'], target: 'es2022', module: 'nodenext',
    moduleResolution: 'nodenext', lib: ['lib.es2022.d.ts'],
  }, join(__dirname, '..'));
  const generated = TJS.generateSchema(program, 'SecureTemporalValues', {
    required: true, noExtraProps: true, strictNullChecks: true, ref: false, ignoreErrors: false,
  });
  if (generated === null) {
    throw new Error('typescript-json-schema produced no schema for SecureTemporalValues');
  }
  const schema = tidy(generated) as Schema;
  for (const [fields, pattern, what] of [
    [DURATION_FIELDS, DURATION_PATTERN, 'a whole number and a unit: ms, s, m, h or d (e.g. 72h, 90d)'],
    [SECRET_FIELDS, SECRET_NAME_PATTERN, 'the name of a Secret in the installation\'s namespace'],
  ] as const) {
    for (const field of fields) {
      const nodes = at(schema, field).filter((n) => n.type === 'string');
      if (nodes.length === 0) {
        throw new Error(`values schema: no string field at ${field}`);
      }
      for (const node of nodes) {
        node.pattern = pattern;
        node.description = node.description ? `${node.description}\n\nFormat: ${what}.` : `Format: ${what}.`;
      }
    }
  }
  const published = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'secure-temporal values',
    ...schema,
  };
  delete (published as Schema).$ref;
  return `${JSON.stringify(published, null, 2)}\n`;
}

if (require.main === module) {
  const text = generateValuesSchema();
  if (process.argv.includes('--check')) {
    if (readFileSync(SCHEMA_FILE, 'utf8') !== text) {
      console.error(`${SCHEMA_FILE} is stale: run npx tsx scripts/values-schema.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(SCHEMA_FILE, text);
  }
}
