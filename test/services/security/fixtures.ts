/**
 * Helpers of the security core's tests: a clock the test moves by hand, the reason of a refusal, and certificates of
 * every shape a caller might present, all valid in a fixed window (January 2030) so that no test reads the wall clock.
 */
import { X509Certificate } from 'node:crypto';
import { Clock } from '../../../services/security/clock';
import { Unauthenticated } from '../../../services/security/errors';
import { Issued, issue, testPki, TestPki } from '../authorizer-proxy/test-pki';

/** A clock that shows `now` until the test changes it. */
export class ManualClock {
  public constructor(public now: number) {}

  public readonly clock: Clock = () => this.now;
}

/** The reason `run` was refused with (it must throw or reject with Unauthenticated; any other error is rethrown). */
export async function reason(run: () => unknown): Promise<string> {
  let outcome: unknown;
  try {
    outcome = await run();
  } catch (e) {
    if (e instanceof Unauthenticated) {
      return e.message;
    }
    throw e;
  }
  throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`);
}

/** The certificates' validity: 2030-01-01T00:00:00Z to 2030-01-31T00:00:00Z. */
const JANUARY_2030 = { notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2030-01-31T00:00:00Z') };

const clientUsages = ['digital signature', 'client auth'];
const workloadUri = (namespace: string, name: string) => `spiffe://cluster.local/ns/${namespace}/temporal-client/${name}`;
const client = (name: string, uris = [workloadUri('orders', name)]) => ({ commonName: name, usages: clientUsages, uris });
const ca = (commonName: string) => ({ commonName, isCA: true, usages: ['cert sign', 'crl sign', 'digital signature'] });

export interface SecurityPki {
  readonly pki: TestPki;
  /** A second workload CA (a rotation's new CA) and its leaf. */
  readonly nextWorkloadCa: Issued;
  readonly nextWorker: Issued;
  /** Good leaves: a workload (with organisations, units and a DNS name), a platform component, one without a CN. */
  readonly worker: Issued;
  readonly web: Issued;
  readonly noCommonName: Issued;
  /** A leaf whose subject is empty (its identity is in the SAN only, as in many SPIFFE SVIDs). */
  readonly emptySubject: Issued;
  /** Leaves that must be refused, each for one reason. */
  readonly bad: Readonly<Record<'forged' | 'misnamed' | 'foreign' | 'subCaLeaf' | 'caWithIdentity' | 'serverAuthOnly' | 'noExtendedUsage' |
    'noUri' | 'twoUris' | 'otherDomain' | 'workloadAsPlatform' | 'platformAsWorkload', Issued>>;
}

export async function securityPki(): Promise<SecurityPki> {
  const pki = await testPki();
  const { workloadCa, platformCa } = pki;
  const other = await issue(ca('another CA'));
  const lookalike = await issue(ca('test workload CA'));
  const subCa = await issue(ca('sub-CA'), workloadCa);
  const nextWorkloadCa = await issue(ca('test workload CA 2031'));
  return {
    pki,
    nextWorkloadCa,
    nextWorker: await issue(client('billing-worker', [workloadUri('billing', 'billing-worker')]), nextWorkloadCa, JANUARY_2030),
    worker: await issue({ ...client('orders-worker'), subject: { organizations: ['Acme', 'Orders'], organizationalUnits: ['payments'] },
      dnsNames: ['orders-worker.orders.svc'] }, workloadCa, JANUARY_2030),
    web: await issue({ commonName: 'web', usages: clientUsages, uris: ['spiffe://cluster.local/ns/temporal/temporal-platform/web'] },
      platformCa, JANUARY_2030),
    noCommonName: await issue({ subject: { organizations: ['Acme'] }, usages: clientUsages, uris: [workloadUri('orders', 'anonymous')] },
      workloadCa, JANUARY_2030),
    emptySubject: await issue({ usages: clientUsages, uris: [workloadUri('orders', 'anonymous')] }, workloadCa, JANUARY_2030),
    bad: {
      // The workload CA's subject and authority key identifier, signed by another key.
      forged: await issue(client('orders-worker'), { ...workloadCa, keys: { privateKey: other.keys.privateKey,
        publicKey: workloadCa.keys.publicKey } }, JANUARY_2030),
      // Signed by the workload CA's key, but naming another issuer.
      misnamed: await issue(client('orders-worker'), { ...workloadCa, certificate: pki.root.certificate }, JANUARY_2030),
      foreign: await issue(client('orders-worker'), lookalike, JANUARY_2030),
      subCaLeaf: await issue(client('orders-worker'), subCa, JANUARY_2030),
      caWithIdentity: await issue({ ...client('orders-worker'), isCA: true }, workloadCa, JANUARY_2030),
      serverAuthOnly: await issue({ ...client('orders-worker'), usages: ['digital signature', 'server auth'] }, workloadCa, JANUARY_2030),
      noExtendedUsage: await issue({ ...client('orders-worker'), usages: ['digital signature'] }, workloadCa, JANUARY_2030),
      noUri: await issue({ commonName: 'orders-worker', usages: clientUsages }, workloadCa, JANUARY_2030),
      twoUris: await issue(client('x', [workloadUri('mallory', 'x'), 'spiffe://cluster.local/ns/temporal/temporal-platform/web']),
        workloadCa, JANUARY_2030),
      otherDomain: await issue(client('orders-worker', ['spiffe://other.example/ns/orders/temporal-client/orders-worker']), workloadCa,
        JANUARY_2030),
      workloadAsPlatform: await issue(client('web', ['spiffe://cluster.local/ns/temporal/temporal-platform/web']), workloadCa, JANUARY_2030),
      platformAsWorkload: await issue(client('orders-worker'), platformCa, JANUARY_2030),
    },
  };
}

/** The DER of an issued certificate. */
export function der(issued: Issued): Buffer {
  return new X509Certificate(issued.cert).raw;
}

/** What TLS hands the authenticator for a peer certificate. */
export function presented(issued: Issued): { der: Buffer; fingerprint: string } {
  const certificate = new X509Certificate(issued.cert);
  return { der: certificate.raw, fingerprint: certificate.fingerprint256 };
}
