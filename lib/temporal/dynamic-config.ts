import { stringify } from 'yaml';
import { ValidationError } from '../core/errors';

/** One constrained value of a dynamic config key (`constraints` empty = global). */
export interface DynamicConfigValue {
  readonly value: unknown;
  readonly constraints?: { readonly [key: string]: string | number };
}

/** Dynamic config: key -> values, the format of Temporal's file-based dynamic config client. */
export type DynamicConfig = { readonly [key: string]: readonly DynamicConfigValue[] };

/**
 * The default set, applied unless overridden key by key:
 * - `frontend.enableServerVersionCheck: false` — no periodic call to Temporal's version service: a
 *   fenced cluster has no egress to the internet, and a security review should not find phone-home.
 */
export const DEFAULT_DYNAMIC_CONFIG: DynamicConfig = {
  'frontend.enableServerVersionCheck': [{ value: false }],
};

/**
 * Dynamic config the cluster forces when it runs with mTLS: ringpop membership traffic (ports 6933-6939) is
 * plain TCP unless this is on; with it, membership uses the internode TLS settings (Temporal
 * `common/dynamicconfig/constants.go`).
 */
export const RINGPOP_TLS_DYNAMIC_CONFIG: DynamicConfig = {
  'system.enableRingpopTLS': [{ value: true }],
};

const KEY = /^[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*)+$/;

/** Merges user values over the defaults (a user key replaces the default values of that key). */
export function mergeDynamicConfig(path: string, overrides: DynamicConfig = {}): DynamicConfig {
  for (const [key, values] of Object.entries(overrides)) {
    if (!KEY.test(key)) {
      throw new ValidationError('INVALID_DYNAMIC_CONFIG', path, 'dynamic config key must look like "area.settingName"',
        key, 'use a key from Temporal\'s dynamic config reference, e.g. "frontend.namespaceRPS"');
    }
    if (!Array.isArray(values) || values.length === 0 || values.some((v) => v === null || typeof v !== 'object' || !('value' in v))) {
      throw new ValidationError('INVALID_DYNAMIC_CONFIG', path, `dynamic config "${key}" needs at least one { value }`,
        values, `write "${key}": [{ value: ... }]`);
    }
  }
  const merged: Record<string, readonly DynamicConfigValue[]> = { ...DEFAULT_DYNAMIC_CONFIG, ...overrides };
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

/** Renders the dynamic config file. Pure and deterministic. */
export function renderDynamicConfig(config: DynamicConfig): string {
  const body: Record<string, unknown[]> = {};
  for (const [key, values] of Object.entries(config)) {
    body[key] = values.map((v) => ({ value: v.value, constraints: { ...(v.constraints ?? {}) } }));
  }
  return `# Temporal dynamic config, generated: edit the constructs, not this file.\n${stringify(body, { lineWidth: 0 })}`;
}
