/**
 * Self-check of the loopback OIDC provider (not a jest test): `npx tsx test/e2e/oidc/oidc.check.ts`.
 * For ES256 and RS256: starts the provider with one account, gets a token, verifies it with jose against the
 * provider's JWKS (issuer, audience, algorithm), prints the verified header and payload, stops the provider.
 * Exits non-zero on any failure.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { OidcSigningAlg, startOidcProvider } from './oidc';

const AUDIENCE = 'temporal';
const ACCOUNT = 'orders-worker';
const PERMISSIONS = ['orders:write', 'temporal-system:read'];
const GROUPS = ['team-orders'];

function assert(condition: boolean, message: string): void {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

async function check(signingAlg: OidcSigningAlg): Promise<void> {
  const oidc = await startOidcProvider({
    audience: AUDIENCE,
    signingAlg,
    clients: [{ client_id: ACCOUNT, client_secret: 'orders-worker-secret' }],
    accounts: { [ACCOUNT]: { permissions: PERMISSIONS, groups: GROUPS } },
  });
  try {
    console.log(`[${signingAlg}] issuer ${oidc.issuer}, jwks ${oidc.jwksUri}`);
    const token = await oidc.token(ACCOUNT);
    const jwks = createRemoteJWKSet(new URL(oidc.jwksUri));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: oidc.issuer,
      audience: AUDIENCE,
      algorithms: [signingAlg],
    });
    console.log(`[${signingAlg}] protected header ${JSON.stringify(protectedHeader)}`);
    console.log(`[${signingAlg}] payload ${JSON.stringify(payload)}`);

    assert(protectedHeader.alg === signingAlg, `alg ${protectedHeader.alg}`);
    assert(protectedHeader.typ === 'at+jwt', `typ ${protectedHeader.typ}`);
    assert(typeof protectedHeader.kid === 'string', 'kid');
    assert(payload.sub === ACCOUNT, `sub ${payload.sub}`);
    assert(payload.aud === AUDIENCE, `aud ${JSON.stringify(payload.aud)}`);
    assert(typeof payload.exp === 'number' && typeof payload.iat === 'number' && payload.exp > payload.iat, 'exp/iat');
    assert(JSON.stringify(payload.permissions) === JSON.stringify(PERMISSIONS), `permissions ${JSON.stringify(payload.permissions)}`);
    assert(JSON.stringify(payload.groups) === JSON.stringify(GROUPS), `groups ${JSON.stringify(payload.groups)}`);

    // The other algorithm must not be accepted for this key.
    const other: OidcSigningAlg = signingAlg === 'ES256' ? 'RS256' : 'ES256';
    const rejected = await jwtVerify(token, jwks, { issuer: oidc.issuer, audience: AUDIENCE, algorithms: [other] }).then(
      () => false,
      () => true,
    );
    assert(rejected, `token verified with algorithms [${other}]`);
    console.log(`[${signingAlg}] ok`);
  } finally {
    await oidc.stop();
  }
}

async function main(): Promise<void> {
  for (const alg of ['ES256', 'RS256'] as const) {
    await check(alg);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
