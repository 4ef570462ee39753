/**
 * Test helpers: synthesize a chart to plain objects, find objects by kind and name (never by array
 * index), walk pod templates, and assert ValidationErrors and atomic (all-or-nothing) construction.
 */
import { ApiObject, App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import type { IDeployment, IStatefulSet, IDaemonSet, IReplicaSet } from 'kubernetes-models/apps/v1';
import type { ICronJob, IJob } from 'kubernetes-models/batch/v1';
import type { IIngress, INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type {
  IConfigMap, IContainer, IEnvVar, INamespace, IPodSpec, ISecret, IService, IServiceAccount,
} from 'kubernetes-models/v1';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { ValidationCode, ValidationError } from '../lib/core/errors';

/** A synthesized Kubernetes object, as plain JSON. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: IObjectMeta & { readonly name: string };
  readonly [key: string]: unknown;
}

/** Kinds we look up, typed with kubernetes-models' interfaces. */
export interface KindMap {
  ConfigMap: IConfigMap;
  CronJob: ICronJob;
  DaemonSet: IDaemonSet;
  Deployment: IDeployment;
  Ingress: IIngress;
  Job: IJob;
  Namespace: INamespace;
  NetworkPolicy: INetworkPolicy;
  PodDisruptionBudget: IPodDisruptionBudget;
  ReplicaSet: IReplicaSet;
  Secret: ISecret;
  Service: IService;
  ServiceAccount: IServiceAccount;
  StatefulSet: IStatefulSet;
}
export type Kind = keyof KindMap;
export type Typed<K extends Kind> = KindMap[K] & K8sObject;

/** Synthesizes one chart to a list of plain objects. */
export function synth(chart: Chart): K8sObject[] {
  return Testing.synth(chart) as K8sObject[];
}

/** Synthesizes a fresh App built by `build` to its YAML bytes (all charts, in order). */
export function synthYaml(build: (app: App) => void): string {
  const app = Testing.app();
  build(app);
  return app.synthYaml();
}

/** A fresh App with one Chart (namespace `temporal` unless told otherwise; `null` for none). */
export function testChart(namespace: string | null = 'temporal', id = 'test'): Chart {
  return new Chart(Testing.app(), id, namespace === null ? {} : { namespace });
}

function describeObjects(objs: readonly K8sObject[]): string {
  return objs.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ') || 'nothing';
}

/** All objects of one kind. */
export function findAll<K extends Kind>(objs: readonly K8sObject[], kind: K): Typed<K>[];
export function findAll(objs: readonly K8sObject[], kind: string): K8sObject[];
export function findAll(objs: readonly K8sObject[], kind: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind);
}

/** The one object of `kind` named `name`; throws a clear error (listing what exists) if missing. */
export function findObject<K extends Kind>(objs: readonly K8sObject[], kind: K, name: string): Typed<K>;
export function findObject(objs: readonly K8sObject[], kind: string, name: string): K8sObject;
export function findObject(objs: readonly K8sObject[], kind: string, name: string): K8sObject {
  const matches = objs.filter((o) => o.kind === kind && o.metadata?.name === name);
  if (matches.length !== 1) {
    throw new Error(`expected exactly one ${kind} named "${name}", found ${matches.length}; ` +
      `objects of kind ${kind}: ${describeObjects(findAll(objs, kind))}`);
  }
  return matches[0];
}

/** The object of `kind` whose name starts with `prefix` (content-hashed Job names). */
export function findByPrefix<K extends Kind>(objs: readonly K8sObject[], kind: K, prefix: string): Typed<K> {
  const matches = findAll(objs, kind).filter((o) => o.metadata.name.startsWith(prefix));
  if (matches.length !== 1) {
    throw new Error(`expected exactly one ${kind} named "${prefix}*", found ${matches.length}; ` +
      `objects of kind ${kind}: ${describeObjects(findAll(objs, kind))}`);
  }
  return matches[0];
}

/** True when an object of `kind` named `name` exists. */
export function hasObject(objs: readonly K8sObject[], kind: string, name: string): boolean {
  return objs.some((o) => o.kind === kind && o.metadata?.name === name);
}

/** One pod template of a workload, with the workload's kind and name. */
export interface PodTemplate {
  readonly kind: string;
  readonly name: string;
  readonly metadata: IObjectMeta;
  readonly spec: IPodSpec;
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'ReplicaSet'];

/** Every pod spec of Deployment/StatefulSet/Job/DaemonSet/ReplicaSet/CronJob/Pod in the output. */
export function podTemplates(objs: readonly K8sObject[]): PodTemplate[] {
  const out: PodTemplate[] = [];
  for (const obj of objs) {
    const name = obj.metadata.name;
    const spec = obj.spec as Record<string, unknown> | undefined;
    let template: { metadata?: IObjectMeta; spec?: IPodSpec } | undefined;
    if (WORKLOAD_KINDS.includes(obj.kind)) {
      template = spec?.template as typeof template;
    } else if (obj.kind === 'CronJob') {
      template = (spec?.jobTemplate as { spec?: { template?: typeof template } } | undefined)?.spec?.template;
    } else if (obj.kind === 'Pod') {
      template = { metadata: obj.metadata, spec: obj.spec as IPodSpec };
    } else {
      continue;
    }
    if (template?.spec === undefined) {
      throw new Error(`${obj.kind}/${name} has no pod template spec`);
    }
    out.push({ kind: obj.kind, name, metadata: template.metadata ?? {}, spec: template.spec });
  }
  return out;
}

/** The pod template of one workload. */
export function podTemplate(objs: readonly K8sObject[], kind: string, name: string): PodTemplate {
  const found = podTemplates(objs).find((p) => p.kind === kind && p.name === name);
  if (found === undefined) {
    throw new Error(`no pod template for ${kind}/${name}; workloads: ` +
      podTemplates(objs).map((p) => `${p.kind}/${p.name}`).join(', '));
  }
  return found;
}

/** Init, regular and ephemeral containers of a pod spec. */
export function allContainers(spec: IPodSpec): IContainer[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...((spec.ephemeralContainers ?? []) as IContainer[])];
}

/** The container `name` of a pod spec (or the only container when no name is given). */
export function containerOf(spec: IPodSpec, name?: string): IContainer {
  const containers = allContainers(spec);
  const found = name === undefined ? (containers.length === 1 ? containers[0] : undefined)
    : containers.find((c) => c.name === name);
  if (found === undefined) {
    throw new Error(`no container ${name ?? '(single)'}; containers: ${containers.map((c) => c.name).join(', ')}`);
  }
  return found;
}

/** The env var `name` of a container; throws if missing. */
export function envVar(container: IContainer, name: string): IEnvVar {
  const found = (container.env ?? []).find((e) => e.name === name);
  if (found === undefined) {
    throw new Error(`container ${container.name} has no env ${name}; env: ` +
      (container.env ?? []).map((e) => e.name).join(', '));
  }
  return found;
}

/** The literal value of env var `name` (throws if it is missing or not a literal). */
export function envValue(container: IContainer, name: string): string {
  const value = envVar(container, name).value;
  if (value === undefined) {
    throw new Error(`env ${name} of container ${container.name} has no literal value`);
  }
  return value;
}

/** Every ApiObject construct under `scope`. */
export function apiObjectsUnder(scope: Construct): ApiObject[] {
  return scope.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
}

/** What a ValidationError must say. */
export interface ExpectedError {
  /** The construct path the message starts with. */
  readonly path: string;
  /** Text the message must contain (the bad value as rendered, e.g. `"temporal:latest"` or `0`). */
  readonly value?: string;
}

/**
 * Runs `fn`, which must throw a ValidationError with `code` whose message starts with the construct
 * path, names the bad value and says how to fix it. Returns the error for further checks.
 */
export function expectValidationError(fn: () => unknown, code: ValidationCode, expected: ExpectedError): ValidationError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof ValidationError)) {
    throw new Error(`expected ValidationError ${code}, got ${thrown === undefined ? 'no error' : String(thrown)}`);
  }
  expect({ code: thrown.code, path: thrown.path }).toEqual({ code, path: expected.path });
  expect(thrown.message.startsWith(`${expected.path}: `)).toBe(true);
  expect(thrown.message).toContain('Fix: ');
  if (expected.value !== undefined) {
    expect(thrown.message).toContain(`(got ${expected.value}`);
  }
  return thrown;
}

/**
 * Asserts all-or-nothing construction: `build` throws a ValidationError at construction time (no
 * synth needed) and leaves no Kubernetes object behind in the tree, so a caller that catches the error
 * and synthesizes anyway gets nothing half-built. `setup` creates prerequisites (they are not counted).
 */
export function expectAtomicFailure<T>(
  setup: (chart: Chart) => T,
  build: (chart: Chart, context: T) => unknown,
  code: ValidationCode,
): ValidationError {
  const chart = testChart();
  const context = setup(chart);
  const before = new Set(apiObjectsUnder(chart));
  let thrown: unknown;
  try {
    build(chart, context);
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof ValidationError) || thrown.code !== code) {
    throw new Error(`expected ValidationError ${code} at construction, got ${thrown === undefined ? 'no error' : String(thrown)}`);
  }
  const leftovers = apiObjectsUnder(chart).filter((o) => !before.has(o)).map((o) => `${o.kind}/${o.name}`);
  expect(leftovers).toEqual([]);
  return thrown;
}
