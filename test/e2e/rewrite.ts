/**
 * The only liberties the harness takes with the manifests: everything runs on one host, so in-cluster
 * host names become 127.0.0.1, the database port becomes the throwaway PostgreSQL's, container paths
 * become directories under a temp dir, and (per process) the metrics listen port moves (see
 * cluster.e2e.test.ts). Applied to env values, command/args and the rendered ConfigMap files alike.
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
  ) {}

  public static empty(): Rewriter {
    return new Rewriter([], [], []);
  }

  /**
   * `host:port` -> `toHost:toPort`. Also an env value equal to `port` in a container whose env has a
   * value equal to `host` (separate host and port variables, e.g. SQL_HOST/SQL_PORT) becomes `toPort`.
   */
  public endpoint(host: string, port: number, toHost: string, toPort: number): Rewriter {
    return new Rewriter([...this.endpoints, { host, port, toHost, toPort }], this.hosts, this.paths);
  }

  /** A host name or IP -> another. */
  public host(from: string, to: string): Rewriter {
    return new Rewriter(this.endpoints, [...this.hosts, { from, pattern: hostPattern(from), to }], this.paths);
  }

  /** A container path (and everything below it) -> a local directory. */
  public path(from: string, to: string): Rewriter {
    const rule = { from, pattern: `(?<![A-Za-z0-9._/-])${escape(from)}(?=/|$|[^A-Za-z0-9._-])`, to };
    return new Rewriter(this.endpoints, this.hosts, [...this.paths, rule]);
  }

  /** Rewrites free text (a config file, an argument, an env value). */
  public text(input: string): string {
    const rules: { pattern: string; to: string }[] = [
      ...this.endpoints.map((e) => ({ pattern: `${hostPattern(e.host)}:${e.port}(?![0-9])`, to: `${e.toHost}:${e.toPort}` })),
      ...this.hosts,
      ...[...this.paths].sort((a, b) => b.from.length - a.from.length),
    ];
    if (rules.length === 0) {
      return input;
    }
    const combined = new RegExp(rules.map((r) => `(${r.pattern})`).join('|'), 'g');
    return input.replace(combined, (...groups: unknown[]) => rules[groups.slice(1, rules.length + 1).findIndex((g) => g !== undefined)].to);
  }

  /** Rewrites a container's resolved env (see endpoint() for separate port variables). */
  public env(env: Readonly<Record<string, string>>): Record<string, string> {
    const values = Object.values(env);
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
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
