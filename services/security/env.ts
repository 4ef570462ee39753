/**
 * Reading a program's settings from its environment, the same way for the proxy and the codec server: each reader
 * records what is wrong with its variable and returns a placeholder; `check()` then throws one Error naming every
 * problem at once, so nothing starts on a half-read configuration.
 */

export interface Address {
  readonly host: string;
  readonly port: number;
}

/** A bracketed IPv6 address, or a name or IPv4 address (no colon, space or bracket); then a port. */
const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/;

export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** A variable that must be set and not empty. */
  text(name: string): string {
    const value = this.env[name];
    if (!value) {
      this.problem(`${name} is not set`);
      return '';
    }
    return value;
  }

  /** A variable that may be absent (`undefined` when unset or empty). */
  optional(name: string): string | undefined {
    return this.env[name] || undefined;
  }

  /** An integer within [min, max]; unset or empty is the fallback. */
  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problem(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    }
    return value;
  }

  /** `host:port` (IPv6 in brackets); unset or empty is every address at the fallback port. */
  address(name: string, fallbackPort: number): Address {
    const raw = this.env[name];
    if (raw === undefined || raw === '') {
      return { host: '0.0.0.0', port: fallbackPort };
    }
    const match = HOST_PORT.exec(raw);
    if (!match || Number(match[3]) > 65535) {
      this.problem(`${name} must be host:port, e.g. 0.0.0.0:${fallbackPort} (got ${JSON.stringify(raw)})`);
      return { host: '', port: 0 };
    }
    return { host: match[1] ?? match[2], port: Number(match[3]) };
  }

  /** A comma-separated list; blanks around and between the entries are dropped. A required list names something. */
  list(name: string, { required = false } = {}): string[] {
    const entries = (this.env[name] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (required && entries.length === 0) {
      this.problem(`${name} is not set`);
    }
    return entries;
  }

  /** A URL (http or https) that has nothing but a scheme, host and port, e.g. a browser's Origin. */
  origins(name: string): string[] {
    const origins = this.list(name);
    for (const origin of origins) {
      if (!isOrigin(origin)) {
        this.problem(`${name}: "${origin}" is not an origin (scheme://host[:port], no path), e.g. https://temporal.example.com`);
      }
    }
    return origins;
  }

  /** A URL, when set. */
  url(name: string, value: string): void {
    if (!URL.canParse(value)) {
      this.problem(`${name} must be a URL`);
    }
  }

  /** Records a problem found by the caller (a rule over several variables). */
  problem(text: string): void {
    this.problems.push(text);
  }

  /** Throws one Error naming every problem recorded, if any. */
  check(): void {
    if (this.problems.length > 0) {
      throw new Error(`invalid configuration: ${this.problems.join('; ')}`);
    }
  }
}

function isOrigin(text: string): boolean {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  return url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
}
