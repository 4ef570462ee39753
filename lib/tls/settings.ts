import { Duration } from 'cdk8s';
import {
  CertificateSpecPrivateKey, CertificateSpecPrivateKeyAlgorithm, CertificateSpecPrivateKeyEncoding,
  CertificateSpecPrivateKeyRotationPolicy, CertificateSpecUsages,
} from '../../imports/cert-manager.io';
import { ValidationError } from '../core/errors';
import { goDuration } from '../core/duration';

/** Private key algorithms cert-manager generates. */
export type KeyAlgorithm = 'ECDSA' | 'RSA' | 'Ed25519';

/** Key algorithm and size of every key of the PKI (CAs and leaves). */
export interface PrivateKeyProps {
  /**
   * Key algorithm. ECDSA keys are small and fast and every Temporal client (Go, Rust core SDKs, the
   * Web UI) supports them; choose RSA only for a peer that cannot do ECDSA.
   * @default 'ECDSA'
   */
  readonly algorithm?: KeyAlgorithm;
  /**
   * Key size: ECDSA 256, 384 or 521; RSA 2048, 3072, 4096 or 8192; ignored for Ed25519.
   * @default 256 for ECDSA, 3072 for RSA
   */
  readonly size?: number;
}

export interface ResolvedPrivateKey {
  readonly algorithm: KeyAlgorithm;
  /** Undefined for Ed25519. */
  readonly size?: number;
}

const SIZES: Record<KeyAlgorithm, readonly number[]> = {
  ECDSA: [256, 384, 521],
  RSA: [2048, 3072, 4096, 8192],
  Ed25519: [],
};

/** Validates key settings and fills in the default size. */
export function resolvePrivateKey(path: string, props: PrivateKeyProps = {}): ResolvedPrivateKey {
  const algorithm = props.algorithm ?? 'ECDSA';
  if (!(algorithm in SIZES)) {
    throw new ValidationError('INVALID_TLS', path, 'privateKey.algorithm must be ECDSA, RSA or Ed25519', algorithm,
      'use "ECDSA" (recommended)');
  }
  if (algorithm === 'Ed25519') {
    return { algorithm };
  }
  const size = props.size ?? (algorithm === 'ECDSA' ? 256 : 3072);
  if (!SIZES[algorithm].includes(size)) {
    throw new ValidationError('INVALID_TLS', path, `privateKey.size for ${algorithm} must be one of ${SIZES[algorithm].join(', ')}`,
      size, algorithm === 'ECDSA' ? 'use 256 (P-256)' : 'use 3072 or 4096');
  }
  return { algorithm, size };
}

const ALGORITHMS: Record<KeyAlgorithm, CertificateSpecPrivateKeyAlgorithm> = {
  ECDSA: CertificateSpecPrivateKeyAlgorithm.ECDSA,
  RSA: CertificateSpecPrivateKeyAlgorithm.RSA,
  Ed25519: CertificateSpecPrivateKeyAlgorithm.ED25519,
};

/** Key rotation on re-issuance: `Always` = a new key every time; `Never` = keep the key, re-certify it. */
export type KeyRotationPolicy = 'Always' | 'Never';

/** The cert-manager `spec.privateKey` block: PKCS#8 encoding, the given rotation policy. Pure. */
export function privateKeySpec(key: ResolvedPrivateKey, rotation: KeyRotationPolicy): CertificateSpecPrivateKey {
  return {
    algorithm: ALGORITHMS[key.algorithm],
    ...(key.size !== undefined ? { size: key.size } : {}),
    encoding: CertificateSpecPrivateKeyEncoding.PKCS8,
    rotationPolicy: rotation === 'Always'
      ? CertificateSpecPrivateKeyRotationPolicy.ALWAYS
      : CertificateSpecPrivateKeyRotationPolicy.NEVER,
  };
}

/** What a certificate is for; decides its key usages. */
export type CertificateRole =
  | 'ca'
  | 'internode'
  | 'server'
  | 'platform-client'
  | 'workload-client'
  | 'trust-carrier'
  | 'token-signer';

/**
 * Key usages per role. `key encipherment` only for RSA (ECDSA/Ed25519 keys sign, they never encrypt a
 * key exchange). A trust carrier gets `email protection` so that its Extended Key Usage excludes TLS:
 * even if its key leaked it could not authenticate a TLS client or server. A token signer's certificate is
 * self-signed and only carries its key (digital signature, no TLS usage). Pure.
 */
export function usagesFor(role: CertificateRole, algorithm: KeyAlgorithm): CertificateSpecUsages[] {
  if (role === 'ca') {
    return [CertificateSpecUsages.CERT_SIGN, CertificateSpecUsages.CRL_SIGN, CertificateSpecUsages.DIGITAL_SIGNATURE];
  }
  const base = algorithm === 'RSA'
    ? [CertificateSpecUsages.DIGITAL_SIGNATURE, CertificateSpecUsages.KEY_ENCIPHERMENT]
    : [CertificateSpecUsages.DIGITAL_SIGNATURE];
  switch (role) {
    case 'internode':
      return [...base, CertificateSpecUsages.SERVER_AUTH, CertificateSpecUsages.CLIENT_AUTH];
    case 'server':
      return [...base, CertificateSpecUsages.SERVER_AUTH];
    case 'platform-client':
    case 'workload-client':
      return [...base, CertificateSpecUsages.CLIENT_AUTH];
    case 'trust-carrier':
      return [CertificateSpecUsages.DIGITAL_SIGNATURE, CertificateSpecUsages.EMAIL_PROTECTION];
    case 'token-signer':
      // A key that signs JWTs: its self-signed certificate only carries it, for no TLS use.
      return [CertificateSpecUsages.DIGITAL_SIGNATURE];
  }
}

/** Lifetime of one kind of certificate, as cert-manager strings. */
export interface Lifetime {
  readonly duration: string;
  readonly renewBefore: string;
}

/**
 * Validates a lifetime against cert-manager's limits (duration >= 1h, renewBefore >= 5m and shorter
 * than the duration) and renders it as Go durations (`2160h`). Pure.
 */
export function lifetime(path: string, what: string, duration: Duration, renewBefore: Duration): Lifetime {
  const d = duration.toSeconds();
  const r = renewBefore.toSeconds();
  if (d < 3600) {
    throw new ValidationError('INVALID_TLS', path, `${what} duration must be at least 1 hour (cert-manager's minimum)`,
      duration.toHumanString(), 'use e.g. Duration.days(90)');
  }
  if (r < 300 || r >= d) {
    throw new ValidationError('INVALID_TLS', path,
      `${what} renewBefore must be at least 5 minutes and shorter than its duration (${duration.toHumanString()})`,
      renewBefore.toHumanString(), 'use about a third of the duration, e.g. 30 days for 90-day certificates');
  }
  return {
    duration: goDuration(path, `${what} duration`, duration),
    renewBefore: goDuration(path, `${what} renewBefore`, renewBefore),
  };
}
