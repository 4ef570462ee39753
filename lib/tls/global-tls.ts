import { Duration } from 'cdk8s';
import { ValidationError } from '../core/errors';
import { goDuration } from '../core/duration';
import { TlsMount, TRUST_DIR, trustAnchorFile } from './layout';
import { CaPurpose, clientConnection, ServerView } from './trust';

/** Temporal's certificate expiry monitoring (logs and metrics from every server process). */
export interface ExpirationChecksProps {
  /**
   * Warn when a certificate expires within this window. Must be shorter than the leaves' `renewBefore`,
   * so that a warning means "cert-manager failed to renew", never "renewal not due yet".
   * @default - 70% of the leaves' renewBefore (21 days for the default 30), else 21 days
   */
  readonly warningWindow?: Duration;
  /** Log an error within this window. Must be shorter than `warningWindow`. @default - a third of warningWindow (7 days) */
  readonly errorWindow?: Duration;
  /** How often to check. @default Duration.hours(1) */
  readonly checkInterval?: Duration;
}

/** A server certificate with the directory it is mounted at. */
export interface MountedServer extends ServerView {
  readonly mount: TlsMount;
}

/** Everything `global.tls` depends on. */
export interface GlobalTlsInput {
  /** The internode certificate: served by history, matching, worker and internal-frontend, presented as client by all. */
  readonly internode: MountedServer;
  /** The frontend server certificate. Its `acceptsClientsFrom` is the FrontendAccess decision. */
  readonly frontend: MountedServer;
  /** Where the trust anchors are mounted. @default TRUST_DIR */
  readonly trustDir?: string;
  /**
   * How often every server re-reads certificate and CA files. 0 would mean "never": rotated
   * certificates would only be picked up on restart.
   * @default Duration.minutes(1)
   */
  readonly refreshInterval?: Duration;
  /** @default - see ExpirationChecksProps */
  readonly expirationChecks?: ExpirationChecksProps;
  /** The leaves' renewBefore, to check the warning window against. @default - not checked */
  readonly leafRenewBefore?: Duration;
  /**
   * Every anchor file of a purpose in `dir` (both key slots of a generated CA). Temporal trusts every
   * certificate of every file it lists, and re-reads them every `refreshInterval`.
   * @default - the one file `<dir>/<purpose>-ca.crt`
   */
  readonly anchorFiles?: (purpose: CaPurpose, dir: string) => readonly string[];
  /** Construct path for error messages. @default 'global.tls' */
  readonly path?: string;
}

export interface ServerTlsBlock {
  readonly certFile: string;
  readonly keyFile: string;
  readonly requireClientAuth: true;
  readonly clientCaFiles: readonly string[];
}

export interface ClientTlsBlock {
  readonly serverName: string;
  readonly disableHostVerification: false;
  readonly rootCaFiles: readonly string[];
}

/** Temporal's `global.tls` (RootTLS, server v1.31 `common/config/config.go`), as we render it. */
export interface GlobalTlsConfig {
  readonly refreshInterval: string;
  readonly expirationChecks: { readonly warningWindow: string; readonly errorWindow: string; readonly checkInterval: string };
  readonly internode: { readonly server: ServerTlsBlock; readonly client: ClientTlsBlock };
  readonly frontend: { readonly server: ServerTlsBlock; readonly client: ClientTlsBlock };
  readonly systemWorker: { readonly certFile: string; readonly keyFile: string; readonly client: ClientTlsBlock };
}

/**
 * Renders `global.tls`. Both listeners require client certificates; each trusts exactly the purpose
 * CAs of its `acceptsClientsFrom`; clients verify host names against `serverName`. The system worker
 * presents the internode certificate to the frontend. Throws a ValidationError when a `serverName` is
 * not among the SANs of the certificate the server presents, or when a client's CA is not trusted by
 * its server. Pure and deterministic.
 */
export function buildGlobalTls(input: GlobalTlsInput): GlobalTlsConfig {
  const path = input.path ?? 'global.tls';
  const dir = input.trustDir ?? TRUST_DIR;
  const { internode, frontend } = input;
  // Every edge of the graph, checked: services call each other, and the system worker (plus the SDK
  // clients inside history and frontend) call the frontend, all with the internode certificate.
  const internodeEdge = clientConnection(internode, internode);
  const systemWorkerEdge = clientConnection(internode, frontend);
  const checks = resolveExpirationChecks(path, input.expirationChecks ?? {}, input.leafRenewBefore);
  const filesOf = input.anchorFiles ?? ((p: CaPurpose, d: string) => [trustAnchorFile(p, d)]);
  const anchors = (purposes: readonly CaPurpose[]): string[] => [...new Set(purposes)].flatMap((p) => filesOf(p, dir));
  const client = (serverName: string, serverCa: CaPurpose): ClientTlsBlock => ({
    serverName,
    disableHostVerification: false,
    rootCaFiles: anchors([serverCa]),
  });
  const server = (s: MountedServer): ServerTlsBlock => {
    if (s.acceptsClientsFrom.length === 0) {
      throw new ValidationError('INVALID_TLS', path, `the "${s.name}" listener trusts no client CA`, s.acceptsClientsFrom,
        'requireClientAuth is always on: give the listener at least one client CA');
    }
    return {
      certFile: s.mount.certFile,
      keyFile: s.mount.keyFile,
      requireClientAuth: true,
      clientCaFiles: anchors(s.acceptsClientsFrom),
    };
  };
  return {
    refreshInterval: goDuration(path, 'refreshInterval', input.refreshInterval ?? Duration.minutes(1)),
    expirationChecks: checks,
    internode: {
      server: server(internode),
      client: client(internodeEdge.serverName, internodeEdge.serverCa),
    },
    frontend: {
      server: server(frontend),
      client: client(systemWorkerEdge.serverName, systemWorkerEdge.serverCa),
    },
    systemWorker: {
      certFile: internode.mount.certFile,
      keyFile: internode.mount.keyFile,
      client: client(systemWorkerEdge.serverName, systemWorkerEdge.serverCa),
    },
  };
}

/** The trust anchors server pods must have mounted for `buildGlobalTls`'s output. Pure. */
export function serverTrustAnchors(internode: ServerView, frontend: ServerView): CaPurpose[] {
  return [...new Set<CaPurpose>([
    internode.issuedBy, frontend.issuedBy, ...internode.acceptsClientsFrom, ...frontend.acceptsClientsFrom,
  ])];
}

function resolveExpirationChecks(path: string, props: ExpirationChecksProps, leafRenewBefore?: Duration) {
  const hours = (seconds: number) => Duration.hours(Math.max(1, Math.round(seconds / 3600)));
  const warning = props.warningWindow ?? (leafRenewBefore ? hours(leafRenewBefore.toSeconds() * 0.7) : Duration.days(21));
  const error = props.errorWindow ?? hours(warning.toSeconds() / 3);
  const interval = props.checkInterval ?? Duration.hours(1);
  if (error.toSeconds() >= warning.toSeconds()) {
    throw new ValidationError('INVALID_TLS', `${path}/expirationChecks`, 'errorWindow must be shorter than warningWindow',
      { errorWindow: error.toHumanString(), warningWindow: warning.toHumanString() }, 'e.g. errorWindow 7 days, warningWindow 21 days');
  }
  if (leafRenewBefore !== undefined && warning.toSeconds() >= leafRenewBefore.toSeconds()) {
    throw new ValidationError('INVALID_TLS', `${path}/expirationChecks`,
      'warningWindow must be shorter than the leaves\' renewBefore, or every healthy certificate raises a warning',
      { warningWindow: warning.toHumanString(), renewBefore: leafRenewBefore.toHumanString() },
      'shorten warningWindow (it defaults to 70% of renewBefore) or lengthen leafRenewBefore (default 30 days)');
  }
  return {
    warningWindow: goDuration(path, 'expirationChecks.warningWindow', warning),
    errorWindow: goDuration(path, 'expirationChecks.errorWindow', error),
    checkInterval: goDuration(path, 'expirationChecks.checkInterval', interval),
  };
}
