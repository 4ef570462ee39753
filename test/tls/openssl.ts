import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Result of one openssl run. */
export interface OpensslResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs `openssl <args>` (OpenSSL 3), the independent verifier of the simulator's output. */
export function openssl(args: readonly string[]): OpensslResult {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.error) {
    throw run.error;
  }
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** A scratch directory for PEM files. */
export function scratch(prefix = 'tls-sim-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `content` to `<dir>/<name>` and returns the path. */
export function file(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/**
 * `openssl verify` of `cert` against the anchors in `caFile`. `partialChain` lets a non-self-signed CA be
 * a trust anchor, as Go's crypto/x509 (the Temporal server) and rustls (the TypeScript SDK) both allow:
 * that is how a listener trusts one purpose CA and not the root above it. `purpose` checks the extended
 * key usage (`sslserver` / `sslclient`).
 */
export function verify(options: {
  readonly caFile: string;
  readonly cert: string;
  readonly untrusted?: string;
  readonly partialChain?: boolean;
  readonly purpose?: 'sslserver' | 'sslclient';
  readonly verifyHostname?: string;
}): OpensslResult {
  return openssl([
    'verify',
    ...(options.partialChain ? ['-partial_chain'] : []),
    '-CAfile', options.caFile,
    ...(options.untrusted ? ['-untrusted', options.untrusted] : []),
    ...(options.purpose ? ['-purpose', options.purpose] : []),
    ...(options.verifyHostname ? ['-verify_hostname', options.verifyHostname] : []),
    options.cert,
  ]);
}

/** `openssl x509 -noout -ext ...` of the first certificate in `cert`. */
export function extensions(cert: string, names = 'subjectAltName,keyUsage,extendedKeyUsage,basicConstraints'): string {
  const result = openssl(['x509', '-in', cert, '-noout', '-ext', names]);
  if (!result.ok) {
    throw new Error(result.output);
  }
  return result.output;
}

/** `openssl x509 -noout -<field>` of the first certificate in `cert` (subject, issuer, enddate, fingerprint ...). */
export function field(cert: string, name: string): string {
  const result = openssl(['x509', '-in', cert, '-noout', `-${name}`]);
  if (!result.ok) {
    throw new Error(result.output);
  }
  return result.output.trim();
}
