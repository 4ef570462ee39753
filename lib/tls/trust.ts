import { ValidationError } from '../core/errors';

/**
 * The four certificate authorities of the PKI, named by what they issue:
 * - `internode`: the one certificate the server services share (server and client auth), also presented
 *   by the frontend and the system worker when they call other services;
 * - `frontend`: server certificates of the client-facing endpoints (frontend; later the authorizer proxy
 *   and the codec server);
 * - `platform-clients`: client certificates of the platform's own components (Web UI, admin tools, jobs;
 *   later the authorizer proxy as a client of the frontend);
 * - `workload`: client certificates of user workloads (workers, CI jobs) in any Kubernetes namespace.
 */
export type CaPurpose = 'internode' | 'frontend' | 'platform-clients' | 'workload';

export const CA_PURPOSES: readonly CaPurpose[] = ['internode', 'frontend', 'platform-clients', 'workload'];

/**
 * THE decision of who may present a certificate to the frontend:
 * - `direct`: workloads connect to the frontend themselves, so it accepts the internode,
 *   platform-clients and workload CAs;
 * - `authorizer-proxy`: workloads must go through the authorizer proxy, so the frontend accepts the
 *   internode and platform-clients CAs only, and a valid workload certificate cannot bypass the proxy.
 */
export type FrontendAccess = 'direct' | 'authorizer-proxy';

/** The CAs whose leaves the frontend accepts as clients, for one FrontendAccess decision. Pure. */
export function frontendClientCas(access: FrontendAccess): readonly CaPurpose[] {
  switch (access) {
    case 'direct':
      return ['internode', 'platform-clients', 'workload'];
    case 'authorizer-proxy':
      return ['internode', 'platform-clients'];
    default:
      throw new ValidationError('INVALID_TLS', 'frontendAccess', 'frontendAccess must be "direct" or "authorizer-proxy"',
        access, 'choose "direct" (no proxy yet) or "authorizer-proxy"');
  }
}

/** The CAs whose leaves the internode listeners (history, matching, worker, internal-frontend) accept. */
export const INTERNODE_CLIENT_CAS: readonly CaPurpose[] = ['internode'];

/**
 * Who trusts whom, as data: for each listener, the CA its clients verify it with (`servedBy`) and the CAs
 * whose leaves it accepts as clients (`acceptsClientsFrom`). Every anchor is one purpose CA, never the
 * root: trusting the root would let a workload certificate into the internode ports. Pure.
 */
export function trustGraph(access: FrontendAccess): Readonly<Record<'internode' | 'frontend', {
  readonly servedBy: CaPurpose;
  readonly acceptsClientsFrom: readonly CaPurpose[];
}>> {
  return {
    internode: { servedBy: 'internode', acceptsClientsFrom: INTERNODE_CLIENT_CAS },
    frontend: { servedBy: 'frontend', acceptsClientsFrom: frontendClientCas(access) },
  };
}

/** What the checks need to know about one leaf certificate (a `TlsIdentity` is one). */
export interface CertificateView {
  /** Construct path, for error messages. */
  readonly path: string;
  /** The identity's name, e.g. `internode`, `frontend`, `web`, `orders-worker`. */
  readonly name: string;
  /** The CA that issues it. */
  /** Its issuing CA: a purpose CA, or the evaluation database's own `database-clients` CA (trusted by nothing else). */
  readonly issuedBy: CaPurpose | 'database-clients';
  /** DNS subject alternative names. */
  readonly dnsNames: readonly string[];
  /** cert-manager usages, e.g. `server auth`, `client auth`. */
  readonly usages: readonly string[];
}

/** A certificate presented by a listener. */
export interface ServerView extends CertificateView {
  /** Server certificates come from purpose CAs only. */
  readonly issuedBy: CaPurpose;
  /** The name clients verify (must be one of `dnsNames`). */
  readonly serverName: string;
  /** The CAs whose leaves this listener accepts as client certificates. */
  readonly acceptsClientsFrom: readonly CaPurpose[];
}

/** True when a certificate name pattern (`a.b` or `*.b`) covers `host`, as TLS host verification does. */
export function sanCovers(san: string, host: string): boolean {
  const pattern = san.toLowerCase();
  const name = host.toLowerCase();
  if (!pattern.startsWith('*.')) {
    return pattern === name;
  }
  const suffix = pattern.slice(1);
  const first = name.indexOf('.');
  return first > 0 && name.slice(first) === suffix;
}

/** Throws `TLS_SERVER_NAME_MISMATCH` unless `serverName` is among the SANs of the certificate the server presents. */
export function assertServerNameInSans(server: Pick<ServerView, 'path' | 'name' | 'dnsNames'>, serverName: string): void {
  if (!server.dnsNames.some((san) => sanCovers(san, serverName))) {
    throw new ValidationError('TLS_SERVER_NAME_MISMATCH', server.path,
      `serverName is not among the DNS names of the "${server.name}" certificate (${server.dnsNames.join(', ')})`,
      serverName, 'use one of those names, or add it to the certificate\'s extra hosts');
  }
}

/** Throws `INVALID_TLS` unless the certificate carries `usage` (e.g. a client certificate without `client auth`). */
export function assertUsage(cert: Pick<CertificateView, 'path' | 'name' | 'usages'>, usage: 'server auth' | 'client auth'): void {
  if (!cert.usages.includes(usage)) {
    throw new ValidationError('INVALID_TLS', cert.path, `the "${cert.name}" certificate lacks the "${usage}" usage`,
      cert.usages, `issue it for a role that includes "${usage}"`);
  }
}

/**
 * Throws `TLS_UNTRUSTED_CLIENT` when `client`'s issuing CA is not trusted by the server it talks to, or
 * when the client certificate cannot be used for client authentication at all.
 */
export function assertClientTrusted(client: CertificateView, server: Pick<ServerView, 'path' | 'name' | 'acceptsClientsFrom'>): void {
  if (client.issuedBy === 'database-clients' || !server.acceptsClientsFrom.includes(client.issuedBy)) {
    const accepted = server.acceptsClientsFrom.length > 0 ? server.acceptsClientsFrom.join(', ') : 'no client certificates';
    throw new ValidationError('TLS_UNTRUSTED_CLIENT', client.path,
      `the "${client.name}" certificate is issued by the ${client.issuedBy} CA, which the "${server.name}" listener ` +
        `does not trust (it accepts: ${accepted})`,
      client.issuedBy, `connect through a listener that trusts the ${client.issuedBy} CA, or use an identity it trusts`);
  }
  assertUsage(client, 'client auth');
}

/** The files one client needs to open an mTLS connection, all derived from the two certificates. */
export interface ClientConnection {
  /** Name to verify in the server certificate (TLS SNI / `serverName`). */
  readonly serverName: string;
  /** The CA whose certificate verifies the server. */
  readonly serverCa: CaPurpose;
  /** The CA that issued the client certificate (for the record). */
  readonly clientCa: CaPurpose | 'database-clients';
}

/**
 * Checks one client → server edge and returns what the client must be configured with. `serverName`
 * defaults to the server's own and may be any other of its SANs (e.g. an extra host). Pure.
 */
export function clientConnection(client: CertificateView, server: ServerView, serverName = server.serverName): ClientConnection {
  assertUsage(server, 'server auth');
  assertServerNameInSans(server, serverName);
  assertClientTrusted(client, server);
  return { serverName, serverCa: server.issuedBy, clientCa: client.issuedBy };
}
