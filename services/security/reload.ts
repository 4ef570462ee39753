/**
 * The one reload strategy for everything a program reads from mounted files (policy, CA bundles, certificates, key
 * sets, key rings): on a timer, read the files, compare a digest of their contents (not their times: the kubelet swaps
 * a Secret's folder atomically, and a touched file that did not change is no change), parse only when it changed, and
 * keep the previous value when the new one does not parse. Each value reloads on its own: one unusable file never keeps
 * the others from being reloaded.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What a source read: a digest of it, and the contents to parse. */
export interface Snapshot {
  readonly digest: string;
  /** The files' contents, in the order the source lists them (for a folder: by relative path). */
  readonly files: readonly { readonly name: string; readonly content: Buffer }[];
}

/** Reads the current contents of something mounted. Throws when it cannot be read. */
export type Source = () => Snapshot;

function snapshot(files: { name: string; content: Buffer }[]): Snapshot {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file.name}\0${file.content.length}\0`).update(file.content);
  }
  return { digest: hash.digest('hex'), files };
}

/** The given files, in order. */
export function filesSource(...names: readonly string[]): Source {
  return () => snapshot(names.map((name) => ({ name, content: readFileSync(name) })));
}

/**
 * Every regular file under `dir` (sub-folders included, by relative path), leaving out the kubelet's own entries of a
 * mounted Secret (`..data`, `..2026_12_07...`): the plain names point into them.
 */
export function folderSource(dir: string): Source {
  return () => {
    const files: { name: string; content: Buffer }[] = [];
    const walk = (relative: string): void => {
      for (const entry of readdirSync(join(dir, relative)).sort()) {
        if (entry.startsWith('..')) {
          continue;
        }
        const path = join(relative, entry);
        const stat = statSync(join(dir, path));
        if (stat.isDirectory()) {
          walk(path);
        } else if (stat.isFile()) {
          files.push({ name: path, content: readFileSync(join(dir, path)) });
        }
      }
    };
    walk('');
    return snapshot(files);
  };
}

/** A value parsed from a source, re-read by `reload()`. */
export class Watched<T> {
  private current: T;
  private digest: string;

  /** Reads and parses now: a source that does not read or parse at start is an error the program must stop on. */
  public constructor(public readonly what: string, private readonly source: Source, private readonly parse: (snapshot: Snapshot) => T) {
    const first = source();
    this.current = parse(first);
    this.digest = first.digest;
  }

  public get value(): T {
    return this.current;
  }

  /** Re-reads the source: true when it changed and the new value is in force; throws (keeping the old value) when it does not parse. */
  public reload(): boolean {
    const next = this.source();
    if (next.digest === this.digest) {
      return false;
    }
    this.current = this.parse(next);
    this.digest = next.digest;
    return true;
  }
}

/** What a reloader tells about each reload. */
export interface ReloadEvents {
  changed(what: string): void;
  failed(what: string, error: Error): void;
}

/** One reload step: a watched value (or anything with a `what` and a `reload`), and what to do once it changed. */
export interface Reloadable {
  readonly what: string;
  reload(): boolean | Promise<boolean>;
}

/**
 * Reloads each of `items` on its own (an error in one never stops the next), every `intervalMs` and on demand; keeps
 * the set of items whose last reload failed (for health reports).
 */
export class Reloader {
  private readonly failing = new Set<string>();
  private timer?: NodeJS.Timeout;

  public constructor(private readonly items: readonly (Reloadable & { onChange?: () => void })[], private readonly events: ReloadEvents) {}

  public start(intervalMs: number): void {
    this.timer = setInterval(() => void this.reload(), intervalMs);
    this.timer.unref();
  }

  public stop(): void {
    clearInterval(this.timer);
  }

  /** The items whose last reload failed, sorted. */
  public failures(): string[] {
    return [...this.failing].sort();
  }

  public async reload(): Promise<void> {
    for (const item of this.items) {
      try {
        if (await item.reload()) {
          item.onChange?.();
          this.events.changed(item.what);
        }
        this.failing.delete(item.what);
      } catch (e) {
        this.failing.add(item.what);
        this.events.failed(item.what, e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
}

/** The one JSON file of `snapshot`, checked by `validate` (which names the file in its errors). */
export function jsonFile<T>(snapshot: Snapshot, validate: (path: string, json: unknown) => T): T {
  const [file] = snapshot.files;
  let json: unknown;
  try {
    json = JSON.parse(file.content.toString('utf8'));
  } catch {
    throw new Error(`${file.name} is not JSON`);
  }
  return validate(file.name, json);
}
