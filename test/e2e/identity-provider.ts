/**
 * The organisation's identity provider of the end-to-end tier: the real `oidc-provider` (oidc/provider.mjs) over
 * HTTPS on loopback, with a certificate of its own test CA (the proxy trusts it through `oidc.caBundle`), signing
 * ES256 access tokens with a key the tests also hold (to make expired or not-yet-valid tokens signed by the very
 * same key). Its accounts: `alice` (permissions `default:write`), `bob` (group `team-b`), `eve` (nothing).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, KeyLike } from 'jose';
import { issue } from '../services/authorizer-proxy/test-pki';
import { OidcClient, OidcProvider, OidcProviderConfig, startOidcProvider } from './oidc/oidc';

/** The `aud` the proxy expects of the provider's tokens. */
export const IDP_AUDIENCE = 'temporal-e2e';
/** Group granted `write` on namespace B by a policy rule of the tier. */
export const TEAM_B_GROUP = 'team-b';

export interface IdentityProvider {
  /** The running provider (a new one after `withProviderStopped`, at the same issuer). */
  readonly oidc: OidcProvider;
  /** PEM of the CA of its HTTPS certificate. */
  readonly caPem: string;
  readonly caFile: string;
  /** PEM of its HTTPS certificate. */
  readonly certPem: string;
  /** Its signing key (ES256) and `kid`. */
  readonly privateKey: KeyLike;
  readonly kid: string;
  /**
   * Runs `fn` while the provider is stopped (its port refuses connections), then starts it again on the same port with
   * the same keys, certificate, clients and accounts: the same issuer, as a provider back from an outage.
   */
  withProviderStopped<T>(fn: () => Promise<T>): Promise<T>;
}

export async function startIdentityProvider(dir: string, clients: readonly OidcClient[] = []): Promise<IdentityProvider> {
  const ca = await issue({ commonName: 'e2e identity provider CA', isCA: true, usages: ['cert sign', 'crl sign', 'digital signature'] });
  const leaf = await issue({ commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usages: ['digital signature', 'server auth'] }, ca);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const config: OidcProviderConfig = {
    audience: IDP_AUDIENCE,
    signingAlg: 'ES256',
    signingJwk: jwk,
    clients,
    tls: { cert: leaf.cert, key: leaf.key, ca: ca.cert },
    accounts: {
      alice: { permissions: ['default:write'] },
      bob: { groups: [TEAM_B_GROUP] },
      eve: {},
    },
  };
  let oidc = await startOidcProvider(config);
  const port = Number(new URL(oidc.issuer).port);
  const caFile = join(dir, 'idp-ca.crt');
  writeFileSync(caFile, ca.cert);
  return {
    get oidc() {
      return oidc;
    },
    caPem: ca.cert, caFile, certPem: leaf.cert, privateKey, kid,
    withProviderStopped: async <T>(fn: () => Promise<T>): Promise<T> => {
      await oidc.stop();
      try {
        return await fn();
      } finally {
        oidc = await startOidcProvider({ ...config, port });
      }
    },
  };
}
