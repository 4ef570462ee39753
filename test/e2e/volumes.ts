/**
 * Volume directories written the way the kubelet writes Secret, ConfigMap and projected volumes
 * (`pkg/volume/util/atomic_writer.go`): the files live in a timestamped directory `..<stamp>`, `..data`
 * is a symlink to it, and every top-level name is a symlink through `..data`. An update writes a new
 * timestamped directory and swaps `..data` with one rename, so a reader sees the old set of files or
 * the new one, never a certificate of one issuance with the key of another.
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { randomBytes } from 'node:crypto';

/** One file of a volume. */
export interface VolumeFile {
  /** Relative path inside the volume (an `items[].path`). */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

const DATA = '..data';

function exists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

/** The kubelet refuses absolute paths, `..` elements and names starting with `..`. */
function checkPath(path: string): string {
  const normal = normalize(path);
  if (path.startsWith('/') || normal.split('/').some((p) => p === '..' || p.startsWith('..')) || normal === '.') {
    throw new Error(`invalid volume item path ${JSON.stringify(path)}`);
  }
  return normal;
}

/** Writes (or replaces) the whole content of the volume at `dir`, atomically for readers. */
export function writeVolume(dir: string, files: readonly VolumeFile[]): void {
  mkdirSync(dir, { recursive: true });
  const paths = files.map((f) => checkPath(f.path));
  const duplicate = paths.find((p, i) => paths.indexOf(p) !== i);
  if (duplicate !== undefined) {
    throw new Error(`volume ${dir}: two items write ${duplicate}`);
  }
  const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
  const stampDir = join(dir, stamp);
  mkdirSync(stampDir);
  files.forEach((f, i) => {
    const target = join(stampDir, paths[i]);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.content, { mode: f.mode });
  });
  const link = join(dir, DATA);
  const previous = exists(link) ? readlinkSync(link) : undefined;
  const tmp = join(dir, `${DATA}_tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(stamp, tmp);
  renameSync(tmp, link);
  const top = new Set(paths.map((p) => p.split('/')[0]));
  for (const name of top) {
    if (!exists(join(dir, name))) {
      symlinkSync(join(DATA, name), join(dir, name));
    }
  }
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('..') && !top.has(name)) {
      rmSync(join(dir, name), { force: true });
    }
  }
  if (previous !== undefined && previous !== stamp) {
    rmSync(join(dir, previous), { recursive: true, force: true });
  }
}
