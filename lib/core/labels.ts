/** Standard labels of every object of one Temporal installation. */
export function componentLabels(instance: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'temporal',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'temporal',
    'app.kubernetes.io/managed-by': 'secure-temporal',
  };
}

/** The subset of labels used in selectors (stable across upgrades). */
export function selectorLabels(instance: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'temporal',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/component': component,
  };
}

/** Pod annotation of server pods, and of schema Job pods: the Temporal server release they run or install. */
export const SERVER_VERSION_ANNOTATION = 'secure-temporal.io/server-version';
/** Annotation of a schema Job: the schema version its release needs (at least; a rollback's Job leaves a newer one as it is). */
export const SCHEMA_VERSION_ANNOTATION = 'secure-temporal.io/schema-version';

/** Pod annotation whose value changes whenever the static config changes, so pods roll. */
export const CONFIG_CHECKSUM_ANNOTATION = 'secure-temporal.io/config-checksum';
