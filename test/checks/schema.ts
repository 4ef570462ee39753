/**
 * Kubernetes schema checks for synthesized objects, built on `kubernetes-models` 4.5:
 * - `validateObject`: the model's own validator (types, enums, required fields, formats);
 * - `unknownFields`: a strict unknown-field check. kubernetes-models' validators ignore properties the
 *   schema does not define (and so does `kubectl apply` without `--validate=strict`), so a misspelled
 *   field (`spec.replicass`) would silently vanish. We walk each object against the TypeScript
 *   interfaces kubernetes-models generates from the same OpenAPI schema and report every property
 *   the interface does not declare.
 */
import * as path from 'node:path';
import * as ts from 'typescript';
import * as admissionV1 from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as coordinationV1 from 'kubernetes-models/coordination.k8s.io/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as schedulingV1 from 'kubernetes-models/scheduling.k8s.io/v1';
import * as storageV1 from 'kubernetes-models/storage.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { K8sObject } from '../util';

/** A kubernetes-models class: `new Model(obj).validate()` throws on an invalid object. */
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: unknown): { validate(): void };
}

const MODULES: readonly Record<string, unknown>[] = [
  coreV1, appsV1, batchV1, policyV1, networkingV1, rbacV1, autoscalingV2, storageV1, schedulingV1, coordinationV1,
  admissionV1,
];

function isModelClass(value: unknown): value is ModelClass {
  const candidate = value as Partial<ModelClass> | undefined;
  return typeof value === 'function' && typeof candidate?.apiVersion === 'string' &&
    typeof candidate.kind === 'string';
}

/** apiVersion + kind -> model class, for every built-in kind kubernetes-models ships in the modules above. */
export const MODELS: ReadonlyMap<string, ModelClass> = new Map(
  MODULES.flatMap((mod) => Object.values(mod).filter(isModelClass))
    .map((model): [string, ModelClass] => [`${model.apiVersion}/${model.kind}`, model]),
);

/** API groups of CRDs we emit on purpose; kubernetes-models has no schema for them. */
export const CRD_GROUPS: readonly string[] = ['cert-manager.io', 'policy.cert-manager.io'];


function label(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata?.name ?? '<unnamed>'}`;
}

function isCrd(obj: K8sObject): boolean {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  return CRD_GROUPS.includes(group);
}

/** Errors of kubernetes-models' validator for `obj` (empty when valid or a known CRD). */
export function validateObject(obj: K8sObject): string[] {
  if (isCrd(obj)) {
    return [];
  }
  const model = MODELS.get(`${obj.apiVersion}/${obj.kind}`);
  if (model === undefined) {
    return [`${label(obj)}: no kubernetes-models schema for ${obj.apiVersion} ${obj.kind}`];
  }
  try {
    new model(obj).validate();
    return [];
  } catch (e) {
    return [`${label(obj)}: ${e instanceof Error ? e.message : String(e)}`];
  }
}

/** Module path and interface name of the generated `.d.ts` for a model. */
function declarationOf(apiVersion: string, kind: string): { module: string; iface: string } {
  return { module: `kubernetes-models/${apiVersion}/${kind}`, iface: `I${kind}` };
}

interface TypeIndex {
  readonly checker: ts.TypeChecker;
  readonly roots: ReadonlyMap<string, ts.Type>;
}

let index: TypeIndex | undefined;

/**
 * One TypeScript program over a virtual file that imports the interface of every model; built once
 * per process (about a second) and reused.
 */
function typeIndex(): TypeIndex {
  if (index !== undefined) {
    return index;
  }
  const virtual = path.join(__dirname, '__k8s_schema_roots__.ts');
  const keys = [...MODELS.keys()].sort();
  const source = [
    ...keys.map((key, i) => {
      const model = MODELS.get(key) as ModelClass;
      const { module, iface } = declarationOf(model.apiVersion, model.kind);
      return `import type { ${iface} as T${i} } from '${module}';`;
    }),
    'export interface Roots {',
    ...keys.map((key, i) => `  ${JSON.stringify(key)}: T${i};`),
    '}',
  ].join('\n');
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es5.d.ts'], target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => (fileName === virtual
    ? ts.createSourceFile(fileName, source, languageVersion)
    : getSourceFile(fileName, languageVersion, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === virtual || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => (fileName === virtual ? source : readFile(fileName));
  const program = ts.createProgram([virtual], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === virtual);
  if (diagnostics.length > 0) {
    throw new Error(`k8s schema index does not compile: ${ts.flattenDiagnosticMessageText(diagnostics[0].messageText, '\n')}`);
  }
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(virtual) as ts.SourceFile;
  const rootsSymbol = checker.getExportsOfModule(checker.getSymbolAtLocation(file) as ts.Symbol)
    .find((s) => s.name === 'Roots') as ts.Symbol;
  const rootsType = checker.getDeclaredTypeOfSymbol(rootsSymbol);
  const roots = new Map(keys.map((key) => [key, checker.getTypeOfSymbol(rootsType.getProperty(key) as ts.Symbol)]));
  index = { checker, roots };
  return index;
}

function walk(checker: ts.TypeChecker, value: unknown, type: ts.Type, at: string, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    return;
  }
  const resolved = checker.getNonNullableType(type);
  if (resolved.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) {
    return;
  }
  const members = resolved.isUnion() ? resolved.types : [resolved];
  if (Array.isArray(value)) {
    const arrayType = members.find((t) => checker.isArrayType(t));
    if (arrayType !== undefined) {
      const element = checker.getTypeArguments(arrayType as ts.TypeReference)[0];
      value.forEach((item, i) => walk(checker, item, element, `${at}[${i}]`, out));
    }
    return;
  }
  const objectTypes = members.filter((t) => (t.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(t));
  if (objectTypes.length === 0) {
    return; // a type mismatch; the model validator reports those
  }
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const where = at === '' ? key : `${at}.${key}`;
    const owner = objectTypes.find((t) => t.getProperty(key) !== undefined);
    if (owner !== undefined) {
      walk(checker, child, checker.getTypeOfSymbol(owner.getProperty(key) as ts.Symbol), where, out);
      continue;
    }
    const indexed = objectTypes.map((t) => checker.getIndexTypeOfType(t, ts.IndexKind.String)).find((t) => t);
    if (indexed !== undefined) {
      walk(checker, child, indexed, where, out);
      continue;
    }
    out.push(where);
  }
}

/**
 * Paths of properties in `obj` that its Kubernetes schema does not define, e.g. `spec.replicass`.
 * Objects of unknown kind are reported by `validateObject`, CRDs are skipped.
 */
export function unknownFields(obj: K8sObject): string[] {
  if (isCrd(obj)) {
    return [];
  }
  const { checker, roots } = typeIndex();
  const root = roots.get(`${obj.apiVersion}/${obj.kind}`);
  if (root === undefined) {
    return [];
  }
  const out: string[] = [];
  walk(checker, obj, root, '', out);
  return out.map((p) => `${label(obj)}: unknown field ${p}`);
}

/** Every schema problem of every object: validator errors and unknown fields. */
export function schemaViolations(objs: readonly K8sObject[]): string[] {
  return objs.flatMap((obj) => [...validateObject(obj), ...unknownFields(obj)]);
}
