// Compiles the values file's JSON Schema (schema/values.schema.json) into a standalone Ajv validator,
// build/cli/values-validator.js, so that `secure-temporal synth` does not compile the schema at every run.
// `npm run build` runs it; the command compiles the schema itself when the file is missing.
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(join(root, 'schema', 'values.schema.json'), 'utf8'));
// The same options as cli/load.ts compiles with.
const ajv = new Ajv.default({ allErrors: true, strict: false, verbose: true, code: { source: true } });
const out = join(root, 'build', 'cli', 'values-validator.js');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, standaloneCode.default(ajv, ajv.compile(schema)));
