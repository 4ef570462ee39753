/**
 * Where the end-to-end tests find their peers: the Go-built Temporal binaries that
 * scripts/install-peers.sh puts in a cache directory, and the PostgreSQL server binaries.
 */
import { accessSync, constants, existsSync, readdirSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { TEMPORAL_VERSION } from '../../lib/core/images';
import { imageTagVersion } from '../../lib/temporal/versions';

/** Binary names the manifests' commands use, as installed by scripts/install-peers.sh. */
export const PEER_BINARIES = ['temporal-server', 'temporal-sql-tool', 'temporal', 'temporal-ui-server', 'kustomize', 'etcd', 'kube-apiserver',
  'kube-controller-manager', 'kubectl', 'pulumi', 'pulumi-resource-kubernetes'] as const;

/** PostgreSQL binaries the throwaway database needs. */
const POSTGRES_BINARIES = ['initdb', 'pg_ctl', 'postgres', 'createdb'] as const;

export interface Peers {
  /** Directory with the Temporal binaries; put first on PATH of every process the tests run. */
  readonly binDir: string;
  /** Directory with initdb, pg_ctl, postgres and createdb. */
  readonly postgresBinDir: string;
  /** The UI server's root: `config/docker.yaml`, the template the temporalio/ui image reads. */
  readonly uiRoot: string;
  /** Debian's Chromium, for the browser tests. */
  readonly chromium: string;
}

/** `${SECURE_TEMPORAL_PEERS:-$HOME/.cache/secure-temporal/peers}/bin`, as in scripts/install-peers.sh. */
export function peersBinDir(): string {
  const root = process.env.SECURE_TEMPORAL_PEERS || join(homedir(), '.cache', 'secure-temporal', 'peers');
  return join(root, 'bin');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function hasPostgres(dir: string): boolean {
  return POSTGRES_BINARIES.every((b) => isExecutable(join(dir, b)));
}

/** The PostgreSQL bin directory: from PATH (following symlinks), else the newest `/usr/lib/postgresql/<major>/bin`. */
export function findPostgresBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '')) {
    const initdb = join(dir, 'initdb');
    if (isExecutable(initdb)) {
      const real = dirname(realpathSync(initdb));
      if (hasPostgres(real)) {
        return real;
      }
      if (hasPostgres(dir)) {
        return dir;
      }
    }
  }
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const majors = readdirSync(debianRoot).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const major of majors) {
      const dir = join(debianRoot, major, 'bin');
      if (hasPostgres(dir)) {
        return dir;
      }
    }
  }
  return undefined;
}

/**
 * The binaries of another Temporal release than the default one, for a container of a `temporalio/server` or
 * `temporalio/admin-tools` image of that version: `<cache>/releases/<version>/bin` (scripts/install-peers.sh builds the
 * previous minor there). Nothing for the default release (the main bin directory has it) or other images.
 */
export function releaseBinDir(image: string): string[] {
  const repository = image.split('@')[0].replace(/:[^/]*$/, '');
  const version = imageTagVersion(image);
  if (!['temporalio/server', 'temporalio/admin-tools'].includes(repository) || version === undefined || version.text === TEMPORAL_VERSION) {
    return [];
  }
  const dir = join(dirname(peersBinDir()), 'releases', version.text, 'bin');
  if (!isExecutable(join(dir, 'temporal-server')) || !isExecutable(join(dir, 'temporal-sql-tool'))) {
    throw new Error(`${image}: no temporal-server and temporal-sql-tool of ${version.text} in ${dir}. Run scripts/install-peers.sh ` +
      '(it builds the previous minor, PREVIOUS_SERVER_VERSION).');
  }
  return [dir];
}

/** Locates every peer or fails with what to run. */
export function findPeers(): Peers {
  const binDir = peersBinDir();
  const missing = PEER_BINARIES.filter((b) => !isExecutable(join(binDir, b)));
  if (missing.length > 0) {
    throw new Error(`end-to-end peers missing in ${binDir}: ${missing.join(', ')}. ` +
      'Run scripts/install-peers.sh (set SECURE_TEMPORAL_PEERS to use another cache directory).');
  }
  const postgresBinDir = findPostgresBinDir();
  if (postgresBinDir === undefined) {
    throw new Error(`PostgreSQL server binaries (${POSTGRES_BINARIES.join(', ')}) not found on PATH or in ` +
      '/usr/lib/postgresql/<major>/bin. Run scripts/install-peers.sh (as root it installs them with apt-get).');
  }
  const uiRoot = join(dirname(binDir), 'ui-server');
  if (!existsSync(join(uiRoot, 'config', 'docker.yaml'))) {
    throw new Error(`the Web UI server's config template is missing in ${uiRoot}/config. Run scripts/install-peers.sh.`);
  }
  const chromium = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'chromium')).find(isExecutable);
  if (chromium === undefined) {
    throw new Error('chromium not found on PATH. Run scripts/install-peers.sh (as root it installs Debian\'s chromium with apt-get).');
  }
  const onPath = (name: string) => (process.env.PATH ?? '').split(delimiter).map((d) => join(d, name)).find(isExecutable);
  const missingTools = ['prometheus', 'promtool'].filter((b) => onPath(b) === undefined);
  if (missingTools.length > 0) {
    throw new Error(`${missingTools.join(' and ')} not found on PATH. Run scripts/install-peers.sh (as root it installs Debian's ` +
      'prometheus package with apt-get).');
  }
  return { binDir, postgresBinDir, uiRoot, chromium };
}
