import { Duration } from 'cdk8s';
import { ISecret, Secret } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { SecureTemporalChartProps } from '../charts/secure-temporal-chart';
import { Endpoint } from '../lib/core/component';

/** A duration in a values file: a whole number and a unit, `ms`, `s`, `m`, `h` or `d` (e.g. `72h`, `90d`, `30s`). */
export type DurationText = string;

/** The name of a Secret in the installation's namespace. */
export type SecretName = string;

/**
 * T as plain data: durations as text, Secrets by name; functions and in-chart endpoints have no place in a file. Maps
 * (labels, grants, dynamic config) hold plain data already and stay as they are.
 */
type Plain<T> =
  T extends Duration ? DurationText :
    T extends ISecret ? SecretName :
      T extends readonly (infer U)[] ? readonly Plain<U>[] :
        T extends object ? (string extends keyof T ? T
          : { [K in keyof T as PlainKey<T[K], K>]: Plain<T[K]> }) :
          T;

type PlainKey<V, K> = NonNullable<V> extends Endpoint | ((...args: never[]) => unknown) ? never : K;

/**
 * The values file of `secure-temporal synth`: every prop of the default deployment (SecureTemporalChartProps) that is
 * data, with durations as text (`72h`) and Secrets by name. docs/VALUES.md describes the file.
 */
export type SecureTemporalValues = Plain<Omit<SecureTemporalChartProps, 'addComponents'>>;

/**
 * Where the values file holds a duration (cdk8s `Duration` in the props), as paths with `*` for any array index or
 * map key. A unit test checks these lists against the props types, so a new Duration prop cannot be missed.
 */
export const DURATION_FIELDS: readonly string[] = [
  'authorizerProxy.oidc.keysMaxStale',
  'authorizerProxy.tokenTtl',
  'codecServer.requestTimeout',
  'namespaces.*.retention',
  'persistence.*.maxConnLifetime',
  'tls.caDuration',
  'tls.caRenewBefore',
  'tls.leafDuration',
  'tls.leafRenewBefore',
  'tls.rootCaDuration',
];

/** Where the values file names a Secret (a cdk8s-plus `ISecret` in the props). */
export const SECRET_FIELDS: readonly string[] = [
  'authorizerProxy.apiKeySecret',
  'persistence.*.password.secret',
  'persistence.*.tls.ca.secret',
  'persistence.*.tls.clientCertificate',
];

export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d)$';
export const SECRET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';

const UNITS: Record<string, (n: number) => Duration> = {
  ms: Duration.millis,
  s: Duration.seconds,
  m: Duration.minutes,
  h: Duration.hours,
  d: Duration.days,
};

/** Parses `72h` and the like; undefined for anything else (the schema has refused it already). */
export function parseDuration(text: string): Duration | undefined {
  const parts = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  return parts ? UNITS[parts[2]](Number(parts[1])) : undefined;
}

/** Each place in `root` that `pattern` (dotted, `*` for any key or index) names, with its parent and key. */
export function visit(root: unknown, pattern: string,
  fn: (parent: Record<string, unknown> | unknown[], key: string | number) => void): void {
  const steps = pattern.split('.');
  const walk = (node: unknown, i: number): void => {
    if (node === null || typeof node !== 'object') {
      return;
    }
    const step = steps[i];
    const keys: (string | number)[] = step === '*'
      ? (Array.isArray(node) ? node.map((_, n) => n) : Object.keys(node))
      : [step];
    for (const key of keys) {
      const child = (node as Record<string | number, unknown>)[key];
      if (child === undefined) {
        continue;
      }
      if (i === steps.length - 1) {
        fn(node as Record<string, unknown>, key);
      } else {
        walk(child, i + 1);
      }
    }
  };
  walk(root, 0);
}

/**
 * The chart props for valid values (checked against the schema first): durations become `Duration`s and Secret
 * names `Secret.fromSecretName` references under `scope`. The values are not changed.
 */
export function toChartProps(scope: Construct, values: SecureTemporalValues): SecureTemporalChartProps {
  const props = structuredClone(values) as Record<string, unknown>;
  for (const field of DURATION_FIELDS) {
    visit(props, field, (parent, key) => {
      const text = (parent as Record<string | number, unknown>)[key] as string;
      const duration = parseDuration(text);
      if (duration === undefined) {
        throw new Error(`${field}: not a duration: ${JSON.stringify(text)}`);
      }
      (parent as Record<string | number, unknown>)[key] = duration;
    });
  }
  let secrets = 0;
  for (const field of SECRET_FIELDS) {
    visit(props, field, (parent, key) => {
      const name = (parent as Record<string | number, unknown>)[key] as string;
      (parent as Record<string | number, unknown>)[key] = Secret.fromSecretName(scope, `ValuesSecret${secrets++}`, name);
    });
  }
  return props as SecureTemporalChartProps;
}
