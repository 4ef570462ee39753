import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { serviceDnsOf } from '../core/dns';
import { pascalCase } from '../core/names';
import { clientTlsFiles, clientTlsWiring, temporalCliTlsEnv, TLS_VOLUMES, TlsPodWiring, webUiTlsEnv } from '../tls/consumers';
import { GlobalTlsConfig } from '../tls/global-tls';
import { TlsIdentity } from '../tls/identity';
import { purposeTrustDir, TRUST_DIR } from '../tls/layout';
import { TemporalPki } from '../tls/pki';
import { CaPurpose, FrontendAccess } from '../tls/trust';
import { TemporalService } from './ports';

/** TLS of one client pod: the env its program reads and the volumes/mounts of its certificate and trust anchor. */
export interface ClientTls {
  readonly env: k8s.EnvVar[];
  readonly wiring: TlsPodWiring;
  /** The certificate the client presents. */
  readonly identity: TlsIdentity;
}

/** Which static config a server service reads: the frontend's, or the one of every other service. */
export type ConfigVariant = 'frontend' | 'internal';

/** The variant of `service`. Pure. */
export function configVariant(service: TemporalService): ConfigVariant {
  return service === 'frontend' ? 'frontend' : 'internal';
}

/**
 * The server side of the cluster's mTLS: one internode certificate per service (so that a stolen key is one
 * service's), the frontend's server certificate (mounted in frontend pods only), `global.tls` per config
 * variant, and each service's volumes.
 */
export interface ClusterTls {
  readonly pki: TemporalPki;
  /** Each service's internode certificate: it serves it (gRPC, membership) and presents it to the others. */
  readonly internode: Readonly<Partial<Record<TemporalService, TlsIdentity>>>;
  /** The frontend's server certificate (SANs: every DNS name of the frontend Service plus extra hosts). */
  readonly frontend: TlsIdentity;
  /**
   * `global.tls` per variant. The frontend's is complete. Every other service never serves the frontend
   * listener, so its `frontend.server` names its own internode files (Temporal loads that block in every
   * process): the frontend's key is in frontend pods only.
   */
  readonly globalTls: Readonly<Record<ConfigVariant, GlobalTlsConfig>>;
  /** The volumes and mounts of one service's pods. */
  wiring(service: TemporalService): TlsPodWiring;
}

/**
 * Issues the cluster's server certificates from `pki` into `scope`. SANs come from the Service objects that
 * serve them: the frontend certificate covers every DNS name of the frontend Service (plus `extraHosts`), each
 * internode certificate the logical internode name, plus the internal-frontend Service on the internal-frontend's.
 * Who may present a client certificate to the frontend follows from `access`.
 */
export function issueClusterTls(scope: Construct, pki: TemporalPki, props: {
  readonly services: readonly TemporalService[];
  readonly frontendService: k8s.KubeService;
  readonly internalFrontendService?: k8s.KubeService;
  readonly clusterDomain: string;
  readonly frontendExtraHosts?: readonly string[];
  readonly access: FrontendAccess;
}): ClusterTls {
  const internode: Partial<Record<TemporalService, TlsIdentity>> = {};
  for (const service of props.services) {
    const servedBy = service === 'internal-frontend' && props.internalFrontendService
      ? [serviceDnsOf(props.internalFrontendService, props.clusterDomain)] : [];
    internode[service] = pki.issueInternodeCertificate(scope, `Internode${pascalCase(service)}`, { name: `${service}-internode`, servedBy });
  }
  const frontend = pki.issueFrontendCertificate(scope, 'Frontend', {
    service: serviceDnsOf(props.frontendService, props.clusterDomain),
    extraHosts: props.frontendExtraHosts,
    access: props.access,
  });
  // Every internode certificate is mounted at the same place, so any one renders the same paths.
  const anyInternode = internode[props.services[0]] as TlsIdentity;
  const full = pki.globalTls({ internode: anyInternode, frontend });
  const internal: GlobalTlsConfig = { ...full, frontend: { server: full.internode.server, client: full.frontend.client } };
  const anchors: Record<ConfigVariant, CaPurpose[]> = {
    // The frontend verifies internode peers and its own clients; the others verify internode peers, and the
    // frontend when their system clients call it (no internal-frontend).
    frontend: [...new Set<CaPurpose>(['internode', 'frontend', ...frontend.acceptsClientsFrom])],
    internal: ['internode', 'frontend'],
  };
  return {
    pki,
    internode,
    frontend,
    globalTls: { frontend: full, internal },
    wiring: (service) => {
      const own = internode[service];
      if (own === undefined) {
        throw new Error(`no internode certificate for ${service}`);
      }
      const isFrontend = configVariant(service) === 'frontend';
      // Behind the proxy the frontend fetches the proxy's JWKS over HTTPS, verified against the frontend CA alone.
      const jwksTrust = isFrontend && props.access === 'authorizer-proxy';
      return {
        volumes: [
          own.volume(TLS_VOLUMES.internode),
          ...(isFrontend ? [frontend.volume(TLS_VOLUMES.frontend)] : []),
          ...(jwksTrust ? [pki.trustVolume(TLS_VOLUMES.frontendTrust, ['frontend'])] : []),
          pki.trustVolume(TLS_VOLUMES.trust, anchors[configVariant(service)]),
        ],
        mounts: [
          own.volumeMount(TLS_VOLUMES.internode),
          ...(isFrontend ? [frontend.volumeMount(TLS_VOLUMES.frontend)] : []),
          ...(jwksTrust ? [{ name: TLS_VOLUMES.frontendTrust, mountPath: purposeTrustDir('frontend'), readOnly: true }] : []),
          { name: TLS_VOLUMES.trust, mountPath: TRUST_DIR, readOnly: true },
        ],
      };
    },
  };
}

/**
 * TLS of a client that presents `client` to `server` (the authorizer proxy, the frontend, or an internal-frontend's
 * internode listener), as `program` reads it. The edge is checked (serverName among the server's SANs, the client's
 * CA trusted by the server) before anything is returned.
 */
export function clientTls(pki: TemporalPki, client: TlsIdentity, server: TlsIdentity, program: 'web-ui' | 'temporal-cli',
  extraTrustFile?: string): ClientTls {
  const files = clientTlsFiles(client, server, { anchorFiles: (purpose, dir) => pki.trustAnchorFiles(purpose, dir) });
  return {
    env: program === 'web-ui' ? webUiTlsEnv(files, extraTrustFile) : temporalCliTlsEnv(files),
    wiring: clientTlsWiring(pki, client, files),
    identity: client,
  };
}

