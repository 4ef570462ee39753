import { ValidationError } from './errors';

/**
 * Images, pinned by exact version. The admin tools (temporal-sql-tool, the temporal CLI) must match the
 * server version: the schema they install is the one that server release expects.
 */
export const TEMPORAL_VERSION = '1.31.2';

export const DEFAULT_IMAGES = {
  server: `temporalio/server:${TEMPORAL_VERSION}`,
  adminTools: `temporalio/admin-tools:${TEMPORAL_VERSION}`,
  ui: 'temporalio/ui:2.52.0',
  postgres: 'postgres:17.6',
  /** Runs the bundled programs of this package (the authorizer proxy) from a ConfigMap: no image to build. */
  node: 'node:20.20.2-bookworm-slim',
} as const;

/** Image user ids (from the images' Dockerfiles). */
export const IMAGE_USERS = {
  server: 1000,
  adminTools: 1000,
  ui: 5000,
  postgres: 999,
  /** The `node` user of the official Node images. */
  node: 1000,
} as const;

const IMAGE_REFERENCE = new RegExp('^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*' +
  '(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$');

/** The tag of an image reference (`repo:tag`, `registry:5000/repo:tag@sha256:...`), or '' when it has none. Pure. */
export function imageTag(image: string): string {
  const lastSegment = image.split('@')[0].split('/').pop() ?? '';
  return lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : '';
}

/**
 * Throws `INVALID_IMAGE` unless `image` names an exact tag or digest (never `:latest`, never untagged).
 * `example` is a valid image for this field (its default), shown in the fix.
 */
export function requirePinnedImage(path: string, field: string, image: string, example: string): string {
  const digest = String(image).includes('@sha256:');
  const tag = imageTag(String(image));
  if (!digest && (tag === '' || tag === 'latest')) {
    throw new ValidationError('INVALID_IMAGE', path, `${field} must be pinned to an exact tag or digest`, image,
      `name an exact version, e.g. "${example}", or a digest "...@sha256:..."`);
  }
  if (typeof image !== 'string' || !IMAGE_REFERENCE.test(image)) {
    throw new ValidationError('INVALID_IMAGE', path, `${field} is not a valid image reference`, image,
      `use "repository:tag" or "repository@sha256:<64 hex digits>" (lower-case repository, no spaces), e.g. "${example}"`);
  }
  return image;
}
