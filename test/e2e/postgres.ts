/**
 * A throwaway PostgreSQL on 127.0.0.1 for the end-to-end tests, standing in for the evaluation
 * PostgreSQL StatefulSet: same superuser and initial database as the `postgres` image creates from that
 * StatefulSet's env (see `evaluationDatabase` in manifests.ts), started with the StatefulSet's own
 * server arguments (TLS certificate and key, client CA, pg_hba.conf: certificate authentication only;
 * their paths rewritten to the materialized volumes). PostgreSQL refuses to run as root, so when the
 * tests run as root (CI) every PostgreSQL command runs as the unprivileged `postgres` (or `nobody`) user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface PostgresOptions {
  /** Directory with initdb, pg_ctl and createdb. */
  readonly binDir: string;
  /**
   * Directory to create (removed by stop()); as root, its parent must be traversable (mode 0711) by the
   * unprivileged user.
   */
  readonly dir: string;
  readonly port: number;
  /** Superuser (POSTGRES_USER of the image). */
  readonly user: string;
  /** The container's server arguments (`-c name=value` pairs), paths already rewritten. */
  readonly serverArgs: readonly string[];
  /**
   * Files PostgreSQL must own (its TLS certificate and key: PostgreSQL refuses a key readable by others;
   * the kubelet makes the pod's fsGroup their group, here the unprivileged user must own them).
   */
  readonly ownFiles: readonly string[];
  /** Database created after initdb (POSTGRES_DB of the image, which defaults to the user). */
  readonly database: string;
}

export interface RunningPostgres {
  readonly host: string;
  readonly port: number;
  readonly logFile: string;
  /** Stops the server (fast shutdown) and deletes its directory. Safe to call twice. */
  stop(): void;
}

interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The user PostgreSQL runs as: undefined when not root (run as ourselves). */
function unprivilegedUser(): OsUser | undefined {
  if (process.getuid === undefined || process.getuid() !== 0) {
    return undefined;
  }
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) {
      return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
    }
  }
  throw new Error('running as root but neither a "postgres" nor a "nobody" user exists to run PostgreSQL as');
}

function runAs(user: OsUser | undefined, file: string, args: string[]): void {
  const [cmd, argv] = user === undefined ? [file, args] : ['runuser', ['-u', user.name, '--', file, ...args]];
  try {
    execFileSync(cmd, argv, { stdio: 'pipe', encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** initdb, start on 127.0.0.1:<port>, create the database. Throws (with the server log) on failure. */
export function startPostgres(opts: PostgresOptions): RunningPostgres {
  const user = unprivilegedUser();
  const data = join(opts.dir, 'data');
  const socketDir = join(opts.dir, 'socket');
  const logFile = join(opts.dir, 'postgres.log');
  mkdirSync(socketDir, { recursive: true });
  for (const file of opts.ownFiles) {
    chmodSync(realpathSync(file), 0o600);
  }
  if (user !== undefined) {
    for (const p of [opts.dir, socketDir, ...opts.ownFiles.map((f) => realpathSync(f))]) {
      chownSync(p, user.uid, user.gid);
    }
    chmodSync(opts.dir, 0o700);
  }
  const bin = (name: string): string => join(opts.binDir, name);
  let started = false;
  const stop = (): void => {
    process.removeListener('exit', stop);
    if (started) {
      started = false;
      try {
        runAs(user, bin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
      } catch {
        // Best effort: the directory is removed anyway.
      }
    }
    rmSync(opts.dir, { recursive: true, force: true });
  };
  try {
    runAs(user, bin('initdb'), [
      '-D', data, '--username', opts.user, '--auth-local', 'trust', '--auth-host', 'reject',
      '--encoding', 'UTF8', '--no-instructions',
    ]);
    // The StatefulSet's arguments (TLS, client CA, hba_file) plus where to listen here.
    const serverOptions = [...opts.serverArgs,
      '-c', 'listen_addresses=127.0.0.1', '-p', String(opts.port), '-k', socketDir, '-c', 'fsync=off'].join(' ');
    runAs(user, bin('pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start']);
    started = true;
    // pg_ctl daemonizes the server: stop it even if the test process ends without teardown.
    process.once('exit', stop);
    runAs(user, bin('createdb'), ['-h', socketDir, '-p', String(opts.port), '-U', opts.user, opts.database]);
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '(no server log)';
    stop();
    throw new Error(`${(err as Error).message}\n--- postgres.log ---\n${log}`);
  }
  return { host: '127.0.0.1', port: opts.port, logFile, stop };
}
