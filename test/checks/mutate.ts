/** Known-good output broken on purpose, so the checker tests can show each checker fails. */
import { Testing } from 'cdk8s';
import { SecureTemporalChart } from '../../charts/secure-temporal-chart';
import { K8sObject, findObject, synth } from '../util';

let baseline: K8sObject[] | undefined;

/** A fresh deep copy of the default chart's output. */
export function defaultOutput(): K8sObject[] {
  baseline ??= synth(new SecureTemporalChart(Testing.app(), 'temporal'));
  return JSON.parse(JSON.stringify(baseline)) as K8sObject[];
}

type Node = Record<string, unknown> | unknown[];

function segments(path: string): (string | number)[] {
  return path.split('.').flatMap((part) => {
    const [key, ...indexes] = part.split('[');
    return [...(key === '' ? [] : [key]), ...indexes.map((i) => Number(i.replace(']', '')))];
  });
}

/**
 * Sets (or, with `undefined`, deletes) the value at a dotted path such as
 * `spec.template.spec.containers[0].image`, creating objects on the way.
 */
export function setPath(obj: object, path: string, value: unknown): void {
  const keys = segments(path);
  let node = obj as Node;
  for (const key of keys.slice(0, -1)) {
    const next = (node as Record<string | number, unknown>)[key];
    if (next === undefined || next === null) {
      (node as Record<string | number, unknown>)[key] = {};
    }
    node = (node as Record<string | number, unknown>)[key] as Node;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) {
    delete (node as Record<string | number, unknown>)[last];
  } else {
    (node as Record<string | number, unknown>)[last] = value;
  }
}

/** The default output with the value at `path` of one object (by kind and name) set to `value`. */
export function mutated(kind: string, name: string, path: string, value: unknown): K8sObject[] {
  const objs = defaultOutput();
  setPath(findObject(objs, kind, name), path, value);
  return objs;
}
