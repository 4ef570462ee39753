import { createHash } from 'node:crypto';

/**
 * Jobs are immutable once created, so their name carries a hash of what they run: a change (new image,
 * new schema, new namespaces) yields a new Job that runs once, and re-applying the same manifests is a
 * no-op. Deterministic: the same inputs give the same name.
 */
export function contentName(prefix: string, content: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 8);
  return `${prefix}-${hash}`;
}
