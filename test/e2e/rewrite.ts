/**
 * The only liberties the harness takes with the manifests: everything runs on one host, so in-cluster
 * host names become 127.0.0.1, the database port becomes the throwaway PostgreSQL's, container paths
 * become directories under a temp dir, and (per process) the metrics listen port moves (see
 * cluster.e2e.test.ts). Applied to env values, command/args and the rendered ConfigMap files alike.
 * A host name that is not an address but a name to verify (a TLS `serverName`) is kept as it is.
 */

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `host` not inside a longer host name (no name character before it, no label after it). */
const hostPattern = (host: string): string => `(?<![A-Za-z0-9.-])${escape(host)}(?![A-Za-z0-9-]|\\.[A-Za-z0-9])`;

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly toHost: string;
  readonly toPort: number;
}

interface Rule {
  readonly from: string;
  /** Regular expression source without capture groups. */
  readonly pattern: string;
  readonly to: string;
}

/**
 * An immutable set of rewrites, applied in one pass (a replacement is never rewritten again). Where
 * several match at one position: endpoints (`host:port`) win over hosts, longer paths over shorter.
 */
export class Rewriter {
  private constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly hosts: readonly Rule[],
    private readonly paths: readonly Rule[],
    /** Patterns whose matches are left as they are (checked before every other rule). */
    private readonly kept: readonly string[] = [],
    /** Env vars whose values are left as they are. */
    private readonly keptEnv: readonly string[] = [],
  ) {}

  public static empty(): Rewriter {
    return new Rewriter([], [], []);
  }

  private with(changes: { endpoints?: readonly Endpoint[]; hosts?: readonly Rule[]; paths?: readonly Rule[];
    kept?: readonly string[]; keptEnv?: readonly string[]; }): Rewriter {
    return new Rewriter(changes.endpoints ?? this.endpoints, changes.hosts ?? this.hosts, changes.paths ?? this.paths,
      changes.kept ?? this.kept, changes.keptEnv ?? this.keptEnv);
  }

  /**
   * `host:port` -> `toHost:toPort`. Also an env value equal to `port` in a container whose env has a
   * value equal to `host` (separate host and port variables, e.g. SQL_HOST/SQL_PORT) becomes `toPort`.
   */
  public endpoint(host: string, port: number, toHost: string, toPort: number): Rewriter {
    return this.with({ endpoints: [...this.endpoints, { host, port, toHost, toPort }] });
  }

  /** A host name or IP -> another. */
  public host(from: string, to: string): Rewriter {
    return this.with({ hosts: [...this.hosts, { from, pattern: hostPattern(from), to }] });
  }

  /** A container path (and everything below it) -> a local directory. */
  public path(from: string, to: string): Rewriter {
    const rule = { from, pattern: `(?<![A-Za-z0-9._/-])${escape(from)}(?=/|$|[^A-Za-z0-9._-])`, to };
    return this.with({ paths: [...this.paths, rule] });
  }

  /**
   * Text matching `pattern` (a regular expression source without capture groups) is never rewritten,
   * e.g. `serverName: <host>`: a TLS client verifies that name in the server's certificate, it does not
   * connect to it.
   */
  public keep(pattern: string): Rewriter {
    return this.with({ kept: [...this.kept, pattern] });
  }

  /** The value of env var `name` is never rewritten (e.g. TEMPORAL_TLS_SERVER_NAME, a name to verify). */
  public keepEnv(name: string): Rewriter {
    return this.with({ keptEnv: [...this.keptEnv, name] });
  }

  /** Rewrites free text (a config file, an argument, an env value). */
  public text(input: string): string {
    const rules: { pattern: string; to?: string }[] = [
      ...this.kept.map((pattern) => ({ pattern })),
      ...this.endpoints.map((e) => ({ pattern: `${hostPattern(e.host)}:${e.port}(?![0-9])`, to: `${e.toHost}:${e.toPort}` })),
      ...this.hosts,
      ...[...this.paths].sort((a, b) => b.from.length - a.from.length),
    ];
    if (rules.length === 0) {
      return input;
    }
    const combined = new RegExp(rules.map((r) => `(${r.pattern})`).join('|'), 'g');
    return input.replace(combined, (match: string, ...groups: unknown[]) =>
      rules[groups.slice(0, rules.length).findIndex((g) => g !== undefined)].to ?? match);
  }

  /** Rewrites a container's resolved env (see endpoint() for separate port variables). */
  public env(env: Readonly<Record<string, string>>): Record<string, string> {
    const values = Object.values(env);
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
      if (this.keptEnv.includes(name)) {
        out[name] = value;
        continue;
      }
      const endpoint = this.endpoints.find((e) => value === String(e.port) && values.includes(e.host));
      out[name] = endpoint !== undefined ? String(endpoint.toPort) : this.text(value);
    }
    return out;
  }
}

/**
 * Kubernetes `$(VAR)` expansion (command, args and env values): `$$` -> `$`, `$(NAME)` -> its value
 * when NAME is defined, otherwise left unchanged (k8s.io/kubernetes third_party/forked/golang/expansion).
 */
export function expandKubernetes(input: string, vars: Readonly<Record<string, string>>): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i += 1;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        out += '$(';
        i += 2;
        continue;
      }
      const name = input.slice(i + 2, close);
      out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : `$(${name})`;
      i = close + 1;
    } else {
      out += `$${next}`;
      i += 2;
    }
  }
  return out;
}
