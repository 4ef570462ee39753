import type { CaPurpose } from './trust';

/**
 * File layout of TLS material inside pods. Leaf Secrets are cert-manager's `kubernetes.io/tls` shape:
 * `tls.crt` (leaf followed by the intermediates up to, not including, a self-signed root), `tls.key`
 * (PKCS#8) and `ca.crt` (the top of the chain cert-manager knows, usually the root). We mount only
 * `tls.crt` and `tls.key` of a leaf: `ca.crt` is NOT a trust anchor here (see SECURITY.md), trust
 * anchors come from the trust volume, one file per purpose CA.
 */
export const TLS_DIR = '/etc/temporal/tls';

/** Keys of a cert-manager Secret. */
export const TLS_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

/** Where the trust anchors are mounted: `<TRUST_DIR>/<purpose>-ca.crt`. */
export const TRUST_DIR = `${TLS_DIR}/trust`;

/** Default mount directories of the leaf certificates. */
export const IDENTITY_DIRS = {
  /** The internode certificate, in every server pod (and in admin pods that use internal-frontend). */
  internode: `${TLS_DIR}/internode`,
  /** The frontend server certificate, in every server pod (one uniform config for all services). */
  frontend: `${TLS_DIR}/frontend`,
  /** A client certificate (Web UI, admin tools, jobs). */
  client: `${TLS_DIR}/client`,
} as const;

/** Mode of mounted key files: owner and group (the pod's fsGroup) may read, nobody else. */
export const KEY_FILE_MODE = 0o440;
/** Mode of mounted trust anchors (public certificates). */
export const TRUST_FILE_MODE = 0o444;

/** Paths of one mounted leaf certificate. */
export interface TlsMount {
  /** The mount directory. */
  readonly dir: string;
  /** `<dir>/tls.crt`: the leaf and its intermediates. */
  readonly certFile: string;
  /** `<dir>/tls.key`: the private key (PKCS#8 PEM). */
  readonly keyFile: string;
}

/** Paths of a leaf mounted at `dir`. Pure. */
export function tlsMount(dir: string): TlsMount {
  return { dir, certFile: `${dir}/${TLS_FILES.cert}`, keyFile: `${dir}/${TLS_FILES.key}` };
}

/**
 * The two key slots of a generated purpose CA: both are trusted everywhere, one signs (see
 * `TemporalPkiProps.caSigningSlots` and the rollover in docs/SECURITY.md).
 */
export type CaSlot = 1 | 2;

/** File name of a purpose CA's trust anchor in the trust volume: `<purpose>-ca.crt`, slot 2 `<purpose>-ca-2.crt`. Pure. */
export function trustAnchorFileName(purpose: CaPurpose, slot: CaSlot = 1): string {
  return slot === 1 ? `${purpose}-ca.crt` : `${purpose}-ca-${slot}.crt`;
}

/** Path of a purpose CA's trust anchor (slot 1 unless told). Pure. */
export function trustAnchorFile(purpose: CaPurpose, dir: string = TRUST_DIR, slot: CaSlot = 1): string {
  return `${dir}/${trustAnchorFileName(purpose, slot)}`;
}

/**
 * Directory of a trust volume that holds one purpose's anchors and nothing else, for Go programs that read
 * their trust from `SSL_CERT_DIR` (every file of the directory) rather than from one file.
 */
export function purposeTrustDir(purpose: CaPurpose): string {
  return `${TLS_DIR}/trust-${purpose}`;
}

/**
 * File name of the generated root CA's certificate in a trust volume that asks for it: an anchor only for
 * completing chains (OpenSSL-based verifiers want a self-signed top), never a CA whose leaves are accepted.
 */
export const ROOT_ANCHOR_FILE = 'root-ca.crt';
