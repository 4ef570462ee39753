import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { serviceDnsOf } from '../core/dns';
import { clientTlsFiles, clientTlsWiring, serverTlsWiring, temporalCliTlsEnv, TlsPodWiring, webUiTlsEnv } from '../tls/consumers';
import { GlobalTlsConfig } from '../tls/global-tls';
import { TlsIdentity } from '../tls/identity';
import { TemporalPki } from '../tls/pki';
import { FrontendAccess } from '../tls/trust';

/** TLS of one client pod: the env its program reads and the volumes/mounts of its certificate and trust anchor. */
export interface ClientTls {
  readonly env: k8s.EnvVar[];
  readonly wiring: TlsPodWiring;
  /** The certificate the client presents. */
  readonly identity: TlsIdentity;
}

/** The server side of the cluster's mTLS: its two certificates, `global.tls` and the server pods' volumes. */
export interface ClusterTls {
  readonly pki: TemporalPki;
  /** The internode certificate (history, matching, worker, internal-frontend; every service as client). */
  readonly internode: TlsIdentity;
  /** The frontend's server certificate (SANs: every DNS name of the frontend Service plus extra hosts). */
  readonly frontend: TlsIdentity;
  readonly globalTls: GlobalTlsConfig;
  readonly serverWiring: TlsPodWiring;
}

/**
 * Issues the cluster's server certificates from `pki` into `scope`. SANs come from the Service objects that
 * serve them: the frontend certificate covers every DNS name of the frontend Service (plus `extraHosts`),
 * the internode certificate its logical name plus the internal-frontend Service when there is one. Who may
 * present a client certificate to the frontend follows from `access`.
 */
export function issueClusterTls(scope: Construct, pki: TemporalPki, props: {
  readonly frontendService: k8s.KubeService;
  readonly internalFrontendService?: k8s.KubeService;
  readonly clusterDomain: string;
  readonly frontendExtraHosts?: readonly string[];
  readonly access: FrontendAccess;
}): ClusterTls {
  const internode = pki.issueInternodeCertificate(scope, 'Internode', {
    servedBy: props.internalFrontendService ? [serviceDnsOf(props.internalFrontendService, props.clusterDomain)] : [],
  });
  const frontend = pki.issueFrontendCertificate(scope, 'Frontend', {
    service: serviceDnsOf(props.frontendService, props.clusterDomain),
    extraHosts: props.frontendExtraHosts,
    access: props.access,
  });
  return {
    pki,
    internode,
    frontend,
    globalTls: pki.globalTls({ internode, frontend }),
    serverWiring: serverTlsWiring(pki, { internode, frontend }),
  };
}

/**
 * TLS of a platform client, its certificate issued into `scope`. `target: 'frontend'` (the Web UI, SDK-style
 * clients): a platform-clients certificate verified by the frontend. `target: 'internal-frontend'` (admin
 * tools and jobs when the internal-frontend runs): that listener is an internode one and admits only
 * internode certificates, so the client presents the internode certificate. Every edge is checked
 * (serverName among the server's SANs, the client's CA trusted by the server) before anything is returned.
 */
export function platformClientTls(scope: Construct, tls: ClusterTls, props: {
  readonly id: string;
  readonly name: string;
  readonly target: 'frontend' | 'internal-frontend';
  readonly program: 'web-ui' | 'temporal-cli';
}): ClientTls {
  const client = props.target === 'internal-frontend'
    ? tls.internode
    : tls.pki.issuePlatformClientCertificate(scope, props.id, { name: props.name });
  const server = props.target === 'internal-frontend' ? tls.internode : tls.frontend;
  const files = clientTlsFiles(client, server);
  return {
    env: props.program === 'web-ui' ? webUiTlsEnv(files) : temporalCliTlsEnv(files),
    wiring: clientTlsWiring(tls.pki, client, files),
    identity: client,
  };
}
