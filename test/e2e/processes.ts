/**
 * Runs ProcessSpecs as local processes: PATH = the peers bin dir first (so a manifest's
 * `temporal-server`, `temporal-sql-tool` or `temporal` is the peer binary, `sh` the system one), then
 * the caller's PATH; stdout and stderr go to one log file per run. Every process is its own process
 * group, so stopping it also stops what it spawned (`sh -c` scripts).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ProcessSpec } from './pods';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Running {
  readonly spec: ProcessSpec;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** The exit, once it happened. */
  exit?: Exit;
}

/** Last `lines` lines of a file. */
export function tail(file: string, lines = 40): string {
  if (!existsSync(file)) {
    return '(no log)';
  }
  return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
}

export class ProcessRunner {
  private readonly all: Running[] = [];
  private seq = 0;
  private readonly killOnExit = (): void => {
    for (const r of this.all) {
      if (r.exit === undefined && r.child.pid !== undefined) {
        try {
          process.kill(-r.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };

  /**
   * @param logDir where log files go
   * @param pathPrefix directories put before the inherited PATH
   * @param imagePath directories put before `pathPrefix` for a container of that image (another release's binaries)
   */
  constructor(private readonly logDir: string, private readonly pathPrefix: readonly string[],
    private readonly imagePath: (image: string) => readonly string[] = () => []) {
    process.once('exit', this.killOnExit);
  }

  /** Starts a process (its own process group); `extraEnv` is applied over the spec's env. */
  public start(spec: ProcessSpec, extraEnv: Readonly<Record<string, string>> = {}): Running {
    this.seq += 1;
    const logFile = join(this.logDir, `${String(this.seq).padStart(2, '0')}-${spec.name.replace(/[^A-Za-z0-9_.-]+/g, '_')}.log`);
    const fd = openSync(logFile, 'a');
    const PATH = [...(spec.image ? this.imagePath(spec.image) : []), ...this.pathPrefix, process.env.PATH ?? ''].join(delimiter);
    const child = spawn(spec.argv[0], spec.argv.slice(1), {
      cwd: spec.cwd,
      env: { PATH, ...spec.env, ...extraEnv },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    const running: Running = {
      spec,
      logFile,
      child,
      exited: new Promise<Exit>((resolve) => {
        const done = (exit: Exit): void => {
          running.exit ??= exit;
          resolve(running.exit);
        };
        child.once('exit', (code, signal) => done({ code, signal }));
        child.once('error', (err) => {
          done({ code: 127, signal: null });
          process.stderr.write(`${spec.name}: ${err.message}\n`);
        });
      }),
    };
    this.all.push(running);
    return running;
  }

  /** Runs a process to completion; SIGKILLs it after `timeoutMs`. */
  public async run(spec: ProcessSpec, timeoutMs: number, extraEnv: Readonly<Record<string, string>> = {}):
    Promise<Exit & { logFile: string }> {
    const running = this.start(spec, extraEnv);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const exit = await Promise.race([running.exited, timeout.then(async () => {
      await this.stop(running, 0);
      return running.exited;
    })]);
    clearTimeout(timer);
    return { ...exit, logFile: running.logFile };
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  public async stop(running: Running, graceMs = 10_000): Promise<Exit> {
    const pid = running.child.pid;
    if (running.exit === undefined && pid !== undefined) {
      const signal = (s: NodeJS.Signals): void => {
        try {
          process.kill(-pid, s);
        } catch {
          // the group is gone
        }
      };
      signal(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([
        running.exited.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!exited) {
        signal('SIGKILL');
      }
      // Children of the group (e.g. of `sh -c`) may outlive the leader: make sure they are gone too.
      signal('SIGKILL');
    }
    return running.exited;
  }

  /** Stops every process still running, in reverse start order. */
  public async stopAll(graceMs = 10_000): Promise<void> {
    await Promise.all([...this.all].reverse().map((r) => this.stop(r, graceMs)));
    process.removeListener('exit', this.killOnExit);
  }

  /** Processes started so far. */
  public get processes(): readonly Running[] {
    return this.all;
  }

  /** Tail of every log, for failure messages. */
  public tails(lines = 30): string {
    return this.all.map((r) => {
      const status = r.exit === undefined ? 'running' : `exit ${r.exit.code ?? r.exit.signal}`;
      return `--- ${r.spec.name} (${status}) ${r.logFile} ---\n${tail(r.logFile, lines)}`;
    }).join('\n');
  }
}
