import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { checkValues, loadValues } from '../cli/load';
import { SecureTemporalValues, toChartProps } from '../cli/values';
import { CertificateSource, SecureTemporalArgs } from './secure-temporal';

/**
 * The stack's configuration (`pulumi config set secure-temporal:<key> ...`):
 *
 * | key | type | default |
 * | --- | --- | --- |
 * | `certificates` | `cert-manager` or `pulumi-tls` | `cert-manager` |
 * | `valuesFile` | path of a values file (docs/VALUES.md), relative to the project folder | none |
 * | `values` | the same values as an object (`pulumi config set --path 'values.history.replicas' 3`) | none |
 *
 * `values` is applied over `valuesFile`: maps merge key by key at every depth, lists and plain values replace. Both
 * are validated with the values file's JSON Schema; a bad value stops the program with the field, what is allowed and the fix.
 */
export interface StackConfig {
  readonly certificates: CertificateSource;
  readonly values: SecureTemporalValues;
}

/** Reads and validates the stack configuration. `projectDir` resolves a relative `valuesFile`. */
export function readStackConfig(config: pulumi.Config = new pulumi.Config('secure-temporal'), projectDir = process.cwd()): StackConfig {
  const certificates = config.get('certificates') ?? 'cert-manager';
  if (certificates !== 'cert-manager' && certificates !== 'pulumi-tls') {
    throw new Error(`secure-temporal:certificates is "${certificates}". Allowed: cert-manager, pulumi-tls. ` +
      'Fix: pulumi config set secure-temporal:certificates cert-manager (cert-manager in the cluster) or pulumi-tls');
  }
  const file = config.get('valuesFile');
  const fromFile = file !== undefined
    ? loadValues(readFileSync(isAbsolute(file) ? file : join(projectDir, file), 'utf8'), file)
    : {};
  const inline = config.getObject<unknown>('values');
  const values = inline !== undefined
    ? checkValues(mergeValues(fromFile, inline), 'secure-temporal:values')
    : fromFile;
  return { certificates, values };
}

/**
 * `over` applied to `base`: maps merge key by key at every depth; lists and plain values replace. So
 * `values.tls.leafDuration` changes that one field and keeps the file's other `tls` settings.
 */
export function mergeValues(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) {
    return over;
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    merged[key] = key in base ? mergeValues(base[key], value) : value;
  }
  return merged;
}

/** The component's arguments for a stack configuration (durations and Secret names converted under `scope`). */
export function componentArgs(config: StackConfig, scope = new App()): SecureTemporalArgs {
  return { certificates: config.certificates, chart: toChartProps(scope, config.values) };
}
