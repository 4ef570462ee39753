/**
 * Strict structural validation of cert-manager objects against the openAPIV3Schema of the vendored CRDs
 * (crds/cert-manager.io.yaml, v1.21.2): types, enums, required fields, min/max and, unlike the API
 * server's default pruning, unknown fields (a misspelled `isCa` would otherwise vanish silently).
 * `pattern` and `x-kubernetes-validations` (CEL) are not evaluated.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

interface Schema {
  readonly type?: string;
  readonly properties?: Record<string, Schema>;
  readonly additionalProperties?: Schema | boolean;
  readonly items?: Schema;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxLength?: number;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-int-or-string'?: boolean;
}

let schemas: Map<string, Schema> | undefined;

/** The vendored CRD files and the API version of each whose schema we check. */
const CRD_FILES: readonly [string, string][] = [
  ['cert-manager.io.yaml', 'cert-manager.io/v1'],
  ['policy.cert-manager.io.yaml', 'policy.cert-manager.io/v1alpha1'],
];

/** kind -> schema of the vendored cert-manager CRDs (cert-manager.io/v1, and approver-policy's policy.cert-manager.io/v1alpha1). */
export function certManagerSchemas(): Map<string, Schema> {
  if (schemas === undefined) {
    schemas = new Map();
    for (const [file, apiVersion] of CRD_FILES) {
      const text = readFileSync(join(__dirname, '..', '..', 'crds', file), 'utf8');
      for (const doc of parseAllDocuments(text)) {
        const crd = doc.toJS() as { spec?: { group: string; names: { kind: string };
          versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
        const version = crd?.spec?.versions.find((v) => `${crd.spec?.group}/${v.name}` === apiVersion);
        if (crd?.spec && version) {
          schemas.set(crd.spec.names.kind, version.schema.openAPIV3Schema);
        }
      }
    }
  }
  return schemas;
}

function check(schema: Schema, value: unknown, path: string, errors: string[]): void {
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'string' && !Number.isInteger(value)) {
      errors.push(`${path}: expected int-or-string`);
    }
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  switch (schema.type) {
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        errors.push(`${path}: expected an object`);
        return;
      }
      const record = value as Record<string, unknown>;
      for (const key of schema.required ?? []) {
        if (!(key in record)) {
          errors.push(`${path}: missing required field "${key}"`);
        }
      }
      for (const [key, child] of Object.entries(record)) {
        const sub = schema.properties?.[key];
        if (sub !== undefined) {
          check(sub, child, `${path}.${key}`, errors);
        } else if (typeof schema.additionalProperties === 'object') {
          check(schema.additionalProperties, child, `${path}.${key}`, errors);
        } else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.properties !== undefined) {
          errors.push(`${path}: unknown field "${key}"`);
        }
      }
      return;
    }
    case 'array':
      if (!Array.isArray(value)) {
        errors.push(`${path}: expected an array`);
        return;
      }
      if (schema.minItems !== undefined && value.length < schema.minItems) {
        errors.push(`${path}: needs at least ${schema.minItems} items`);
      }
      value.forEach((item, i) => schema.items && check(schema.items, item, `${path}[${i}]`, errors));
      return;
    case 'string':
      if (typeof value !== 'string') {
        errors.push(`${path}: expected a string`);
      } else if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        errors.push(`${path}: longer than ${schema.maxLength}`);
      }
      return;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (schema.type === 'integer' && !Number.isInteger(value))) {
        errors.push(`${path}: expected ${schema.type === 'integer' ? 'an integer' : 'a number'}`);
      } else if ((schema.minimum !== undefined && value < schema.minimum) || (schema.maximum !== undefined && value > schema.maximum)) {
        errors.push(`${path}: out of range`);
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') {
        errors.push(`${path}: expected a boolean`);
      }
      return;
    default:
  }
}

/** Schema errors of one cert-manager or approver-policy object (empty when valid); objects of other groups are skipped. */
export function certManagerSchemaErrors(obj: {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly [key: string]: unknown;
}): string[] {
  if (!CRD_FILES.some(([, apiVersion]) => apiVersion === obj.apiVersion)) {
    return [];
  }
  const schema = certManagerSchemas().get(obj.kind ?? '');
  const label = `${obj.kind}/${(obj.metadata as { name?: string } | undefined)?.name}`;
  if (schema === undefined) {
    return [`${label}: no CRD schema for kind ${obj.kind}`];
  }
  const errors: string[] = [];
  check(schema, obj, label, errors);
  return errors;
}
