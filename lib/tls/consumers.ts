import { k8s } from 'cdk8s-plus-27';
import { serverTrustAnchors } from './global-tls';
import { TlsIdentity } from './identity';
import { TRUST_DIR, trustAnchorFile } from './layout';
import type { TemporalPki } from './pki';
import { CaPurpose, clientConnection } from './trust';

/** Volume names the helpers below use (one place, so NetworkPolicy/tests can find them). */
export const TLS_VOLUMES = {
  internode: 'internode-tls',
  frontend: 'frontend-tls',
  client: 'client-tls',
  trust: 'tls-trust',
  /** The frontend CA's anchors alone, in frontend pods: the system roots of the frontend's JWKS client. */
  frontendTrust: 'frontend-ca-trust',
} as const;

/** Pod-level TLS wiring: volumes for the pod spec, mounts for the container. */
export interface TlsPodWiring {
  readonly volumes: k8s.Volume[];
  readonly mounts: k8s.VolumeMount[];
}

/**
 * Volumes and mounts of every Temporal server pod, for the config `TemporalPki.globalTls` renders: the
 * internode and frontend certificates (one uniform config for all services: Temporal's frontend cert
 * provider runs in every service and would log errors every refresh if its files were missing) and the
 * trust anchors the two listeners need, nothing more.
 */
export function serverTlsWiring(pki: TemporalPki, props: {
  readonly internode: TlsIdentity;
  readonly frontend: TlsIdentity;
}): TlsPodWiring {
  const anchors = serverTrustAnchors(props.internode.asServer(), props.frontend.asServer());
  return {
    volumes: [
      props.internode.volume(TLS_VOLUMES.internode),
      props.frontend.volume(TLS_VOLUMES.frontend),
      pki.trustVolume(TLS_VOLUMES.trust, anchors),
    ],
    mounts: [
      props.internode.volumeMount(TLS_VOLUMES.internode),
      props.frontend.volumeMount(TLS_VOLUMES.frontend),
      { name: TLS_VOLUMES.trust, mountPath: TRUST_DIR, readOnly: true },
    ],
  };
}

/** Everything one client process needs to reach one server over mTLS, derived from the two certificates. */
export interface ClientTlsFiles {
  /** Name to verify in the server certificate. */
  readonly serverName: string;
  /** The CA that verifies the server, and the file its (slot 1) certificate is mounted at. */
  readonly serverCa: CaPurpose;
  readonly serverCaFile: string;
  /** Every anchor file of that CA (both key slots of a generated CA): trust all of them. */
  readonly serverCaFiles: readonly string[];
  /** The directory of those files, holding nothing else (a client's trust volume): `SSL_CERT_DIR` for Go programs. */
  readonly serverCaDir: string;
  /** The client's own certificate (with chain) and key. */
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Checks the client -> server edge (serverName among the server's SANs, the client's CA trusted by the
 * server, the right usages) and returns the files the client uses. `serverName` may be any other SAN of
 * the server (e.g. an extra host). Throws a ValidationError on any mismatch.
 */
export function clientTlsFiles(client: TlsIdentity, server: TlsIdentity, options: {
  /** @default server.serverName */
  readonly serverName?: string;
  /** Where the client certificate is mounted. @default client.mountDir */
  readonly clientDir?: string;
  /** @default TRUST_DIR */
  readonly trustDir?: string;
  /** Every anchor file of a purpose in a directory (`TemporalPki.trustAnchorFiles`). @default - the slot 1 file only */
  readonly anchorFiles?: (purpose: CaPurpose, dir: string) => readonly string[];
} = {}): ClientTlsFiles {
  const edge = clientConnection(client, server.asServer(), options.serverName ?? server.serverName);
  const mount = client.mount(options.clientDir);
  const dir = options.trustDir ?? TRUST_DIR;
  return {
    serverName: edge.serverName,
    serverCa: edge.serverCa,
    serverCaFile: trustAnchorFile(edge.serverCa, dir),
    serverCaFiles: options.anchorFiles?.(edge.serverCa, dir) ?? [trustAnchorFile(edge.serverCa, dir)],
    serverCaDir: dir,
    certFile: mount.certFile,
    keyFile: mount.keyFile,
  };
}

/** Volumes and mounts of a client pod (Web UI, admin tools, a job) for `clientTlsFiles(client, server)`. */
export function clientTlsWiring(pki: TemporalPki, client: TlsIdentity, files: ClientTlsFiles): TlsPodWiring {
  return {
    volumes: [client.volume(TLS_VOLUMES.client), pki.trustVolume(TLS_VOLUMES.trust, [files.serverCa])],
    mounts: [
      { name: TLS_VOLUMES.client, mountPath: dirOf(files.certFile), readOnly: true },
      { name: TLS_VOLUMES.trust, mountPath: dirOf(files.serverCaFile), readOnly: true },
    ],
  };
}

/**
 * The system roots of a Go program (Go's `crypto/x509` on Linux, read once per process): `SSL_CERT_FILE`, then every
 * file of `SSL_CERT_DIR`. The Web UI and the `temporal` CLI verify the server against them when given no CA file, which
 * is how they trust both key slots of the server's CA (a CA file is one file; a slot is one Secret).
 */
export const SYSTEM_TRUST_ENV = { file: 'SSL_CERT_FILE', dir: 'SSL_CERT_DIR' } as const;

/**
 * Env that makes a Go program's system roots the anchors in `dir` and: nothing else (`extraFile` `/dev/null`, the
 * default: no bundle of the image is read); a file of anchors it also needs, such as an identity provider's private CA;
 * or, with `extraFile: 'image'`, the image's own bundle of public CAs (SSL_CERT_FILE unset), for a program that also
 * reaches a public service (the Web UI signing users in at a public identity provider).
 */
export function systemTrustEnv(dir: string, extraFile: string = '/dev/null'): k8s.EnvVar[] {
  return [...(extraFile === 'image' ? [] : [{ name: SYSTEM_TRUST_ENV.file, value: extraFile }]), { name: SYSTEM_TRUST_ENV.dir, value: dir }];
}

/** Environment variable names of the Temporal Web UI's TLS to the frontend (temporalio/ui `server/config`). */
export const WEB_UI_TLS_ENV = {
  cert: 'TEMPORAL_TLS_CERT',
  key: 'TEMPORAL_TLS_KEY',
  serverName: 'TEMPORAL_TLS_SERVER_NAME',
  hostVerification: 'TEMPORAL_TLS_ENABLE_HOST_VERIFICATION',
} as const;

/**
 * Web UI env: client certificate, server name, host verification ON (the UI's default skips verification of the
 * server certificate entirely), and the server's CA as the system roots (`systemTrustEnv`; `extraTrustFile` joins
 * them, e.g. the identity provider's CA). Paths only: no key material in env.
 */
export function webUiTlsEnv(files: ClientTlsFiles, extraTrustFile?: string): k8s.EnvVar[] {
  return [
    ...systemTrustEnv(files.serverCaDir, extraTrustFile),
    { name: WEB_UI_TLS_ENV.cert, value: files.certFile },
    { name: WEB_UI_TLS_ENV.key, value: files.keyFile },
    { name: WEB_UI_TLS_ENV.serverName, value: files.serverName },
    { name: WEB_UI_TLS_ENV.hostVerification, value: 'true' },
  ];
}

/** Environment variable names of the `temporal` CLI (admin tools, namespace job). */
export const CLI_TLS_ENV = {
  enable: 'TEMPORAL_TLS',
  cert: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  key: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  serverName: 'TEMPORAL_TLS_SERVER_NAME',
} as const;

/**
 * `temporal` CLI env for mTLS: host verification stays on (the CLI verifies unless told otherwise), and the server's
 * CA is the system roots (`systemTrustEnv`: every slot of it).
 */
export function temporalCliTlsEnv(files: ClientTlsFiles): k8s.EnvVar[] {
  return [
    { name: CLI_TLS_ENV.enable, value: 'true' },
    ...systemTrustEnv(files.serverCaDir),
    { name: CLI_TLS_ENV.cert, value: files.certFile },
    { name: CLI_TLS_ENV.key, value: files.keyFile },
    { name: CLI_TLS_ENV.serverName, value: files.serverName },
  ];
}

function dirOf(file: string): string {
  return file.slice(0, file.lastIndexOf('/'));
}
