import { ValidationError } from '../core/errors';
import { DEFAULT_IMAGES, imageTag, requirePinnedImage, TEMPORAL_VERSION } from '../core/images';

/**
 * The schema versions a server minor needs in its two stores: `Version` and `VisibilityVersion` of the server's
 * `schema/postgresql/v12/version.go` and `schema/mysql/v8/version.go` (the same for both plugins in these releases).
 * A server refuses to start on a store whose recorded version is older (`VerifyCompatibleVersion` at start-up), and
 * accepts a newer one: Temporal makes only backward-compatible schema changes, so the previous minor runs on it.
 */
export interface SchemaVersions {
  readonly default: string;
  readonly visibility: string;
}

/** One minor release line the chart deploys. */
export interface ServerRelease {
  /** `1.31`. */
  readonly minor: string;
  /** The schema versions every patch of the line needs (read from the source of `checkedAt`). */
  readonly schema: SchemaVersions;
  /** The patch whose source the schema versions were read from. */
  readonly checkedAt: string;
  /**
   * The worker service listens on its gRPC port (1.31 added a gRPC server to it; 1.30's worker serves only
   * membership). Its probes check the port it has.
   */
  readonly workerServesGrpc: boolean;
}

/** The release lines the chart deploys, oldest first. Upgrades move one line at a time. */
export const SERVER_RELEASES: readonly ServerRelease[] = [
  { minor: '1.30', schema: { default: '1.18', visibility: '1.13' }, checkedAt: '1.30.8', workerServesGrpc: false },
  { minor: '1.31', schema: { default: '1.19', visibility: '1.14' }, checkedAt: '1.31.2', workerServesGrpc: true },
];

/** A Temporal server version, `major.minor.patch`. */
export interface ServerVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly text: string;
}

const VERSION_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** Parses `1.31.2`; undefined for anything else. Pure. */
export function parseServerVersion(text: unknown): ServerVersion | undefined {
  const m = typeof text === 'string' ? VERSION_PATTERN.exec(text) : null;
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: text as string } : undefined;
}

/** `1.31` of a version. */
export const minorOf = (v: ServerVersion): string => `${v.major}.${v.minor}`;

/** The release line of a version, if the chart deploys it. */
export function releaseOf(v: ServerVersion): ServerRelease | undefined {
  return SERVER_RELEASES.find((r) => r.minor === minorOf(v));
}

/** The version in an image tag (`temporalio/server:1.31.2`, `...:1.29.1-tctl-1.18.4-cli-1.4.1`), if it names one. */
export function imageTagVersion(image: string): ServerVersion | undefined {
  const m = /^v?(\d+\.\d+\.\d+)(?:$|[-+_])/.exec(imageTag(image));
  return m ? parseServerVersion(m[1]) : undefined;
}

/** What the cluster deploys: the server version, its release line and images. */
export interface ResolvedServerVersion {
  readonly version: ServerVersion;
  readonly release: ServerRelease;
  readonly serverImage: string;
  readonly adminToolsImage: string;
}

export interface ServerVersionProps {
  readonly serverVersion?: string;
  readonly runningServerVersion?: string;
  readonly serverImage?: string;
  readonly adminToolsImage?: string;
}

const supportedLines = (): string => SERVER_RELEASES.map((r) => `${r.minor}.x`).join(', ');

/**
 * The server version to deploy, checked: a release line the chart knows, images whose tags (when they name a version)
 * say the same version, and, when the running version is given, at most one minor from it (Temporal upgrades one
 * minor at a time; the previous minor runs on the newer schema, so going back one minor is a rollback it allows).
 * Throws `INVALID_VERSION`, `INVALID_IMAGE` or `INVALID_UPGRADE`. Pure.
 */
export function resolveServerVersion(path: string, props: ServerVersionProps): ResolvedServerVersion {
  // An image given must be pinned (`INVALID_IMAGE`) before anything is read from its tag. One whose tag names no version
  // (a digest, a mirror's own tag) says nothing of its release: then the version must be told, or the chart would
  // configure it (probes, schema versions) as the default release.
  for (const [field, image, example] of [['serverImage', props.serverImage, DEFAULT_IMAGES.server],
    ['adminToolsImage', props.adminToolsImage, DEFAULT_IMAGES.adminTools]] as const) {
    if (image !== undefined) {
      requirePinnedImage(path, field, image, example);
    }
    if (image !== undefined && props.serverVersion === undefined && imageTagVersion(image) === undefined) {
      throw new ValidationError('INVALID_VERSION', path, `${field} names no version, so serverVersion must say which release it runs`,
        image, `set serverVersion to the release of ${field}, e.g. "${TEMPORAL_VERSION}"`);
    }
  }
  const text = props.serverVersion ?? TEMPORAL_VERSION;
  const version = parseServerVersion(text);
  if (version === undefined) {
    throw new ValidationError('INVALID_VERSION', path, 'serverVersion must be a Temporal server version major.minor.patch',
      text, `name the release, e.g. "${TEMPORAL_VERSION}" (no "v" prefix)`);
  }
  const release = releaseOf(version);
  if (release === undefined) {
    throw new ValidationError('INVALID_VERSION', path, `serverVersion ${text} is not a release line this chart deploys (${supportedLines()})`,
      text, `choose a version of ${supportedLines()}, e.g. "${TEMPORAL_VERSION}"; an older cluster is upgraded one minor at a time ` +
        'with the release of this package that deploys its next minor');
  }
  const serverImage = props.serverImage ?? `${DEFAULT_IMAGES.server.split(':')[0]}:${version.text}`;
  const adminToolsImage = props.adminToolsImage ?? `${DEFAULT_IMAGES.adminTools.split(':')[0]}:${version.text}`;
  for (const [field, image] of [['serverImage', serverImage], ['adminToolsImage', adminToolsImage]] as const) {
    const tagged = imageTagVersion(image);
    if (tagged !== undefined && tagged.text !== version.text) {
      throw new ValidationError('INVALID_IMAGE', path, `${field} is version ${tagged.text} but serverVersion is ${version.text}` +
        ' (the admin tools install the schema of their own release, and the server checks for it)', image,
        `set serverVersion to "${tagged.text}", or ${field} to an image of ${version.text}`);
    }
  }
  if (props.runningServerVersion !== undefined) {
    checkUpgrade(path, parseRunning(path, props.runningServerVersion), version);
  }
  return { version, release, serverImage, adminToolsImage };
}

function parseRunning(path: string, text: string): ServerVersion {
  const running = parseServerVersion(text);
  if (running === undefined) {
    throw new ValidationError('INVALID_VERSION', path, 'runningServerVersion must be a Temporal server version major.minor.patch',
      text, 'give the version the cluster runs now, as `temporal operator cluster system` reports it, e.g. "1.30.8"; or leave it out for a new installation');
  }
  return running;
}

/** Throws `INVALID_UPGRADE` unless `target` is at most one minor from `running` (same major). Pure. */
export function checkUpgrade(path: string, running: ServerVersion, target: ServerVersion): void {
  const next = (v: ServerVersion, by: number): string => `${v.major}.${v.minor + by}`;
  if (running.major !== target.major) {
    throw new ValidationError('INVALID_UPGRADE', path, `serverVersion ${target.text} changes the major version of the running ` +
      `${running.text}`, target.text, `stay on ${running.major}.x: upgrade one minor at a time`);
  }
  const jump = target.minor - running.minor;
  if (jump > 1) {
    throw new ValidationError('INVALID_UPGRADE', path, `serverVersion ${target.text} is ${jump} minors ahead of the running ` +
      `${running.text}; Temporal upgrades one minor at a time (each minor's schema and data migrations build on the previous one)`,
    target.text, `first deploy serverVersion ${next(running, 1)}.x with runningServerVersion "${running.text}" and let it converge ` +
      `(schema Jobs Complete, every Deployment Available), then deploy ${target.text} with runningServerVersion set to the ` +
      `${next(running, 1)} patch you deployed`);
  }
  if (jump < -1) {
    throw new ValidationError('INVALID_UPGRADE', path, `serverVersion ${target.text} is ${-jump} minors behind the running ` +
      `${running.text}; a server runs only on the schema of its own minor or the next one`, target.text,
    `roll back at most one minor (to ${next(running, -1)}.x), or restore the database from a backup taken before the upgrade`);
  }
}
