/**
 * The mTLS properties of the running cluster (docs/SECURITY.md): who the authorizer proxy (the clients' door), the
 * frontend and the internode listeners admit and refuse, what they present, and that ringpop membership traffic is
 * TLS. Registered inside the cluster's describe block of cluster.e2e.test.ts.
 * Every refusal is asserted as the error the client sees (a TLS alert or a verification error), with
 * short timeouts, never as a hang; every refusal has an acceptance next to it that differs only in the
 * property under test.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { CertificateStore, fingerprintOf, SecretFiles } from './certificates';
import { grpcCall } from './grpc-call';
import {
  clientAddress, context, frontendAddress, globalTlsOf, MINUTE, platformFiles, proxy, server, servers, withLogs, WORKLOAD, workloadFiles,
} from './harness';
import { synthesize } from './manifests';
import { encode } from './grpc-call';
import { buildGoProbe, ClientTls, exchange, goHandshake, handshake, TCHANNEL, tchannelInitRequest } from './tls-probe';
import { frontendTrust, proxyTrust, workloadTls } from './workload';

const read = (file: string): string => readFileSync(file, 'utf8');

/** Resolves with the promise's outcome, or rejects when it neither resolves nor rejects within `ms`. */
async function settle<T>(promise: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: no outcome within ${ms} ms`)), ms);
  });
  try {
    return { ok: true, value: await Promise.race([promise, hang]) };
  } catch (error) {
    if ((error as Error).message.startsWith('HANG:')) {
      throw error;
    }
    return { ok: false, error: error as Error };
  } finally {
    clearTimeout(timer);
  }
}

type Target = 'proxy' | 'frontend';

/** A NativeConnection (the worker's, rustls) with `files` to `target`: its outcome within 15 s, the connection closed. */
async function sdkConnect(tls: Parameters<typeof workloadTls>[1], files?: SecretFiles, target: Target = 'proxy'):
  Promise<{ ok: boolean; message: string }> {
  const address = target === 'proxy' ? clientAddress() : frontendAddress();
  const outcome = await settle(NativeConnection.connect({ address, tls: workloadTls(files ?? workloadFiles(), tls, target) }), 15_000);
  if (outcome.ok) {
    await outcome.value.close();
    return { ok: true, message: '' };
  }
  return { ok: false, message: outcome.error.message };
}

/** The SDK's error when it read the server's alert: the exact cause of the refusal. */
function sdkAlert(alert: string): RegExp {
  return new RegExp(`tonic::transport::Error\\(Transport, .*received fatal alert: ${alert}\\b`);
}

/**
 * Connects with the SDK until its error names the server's alert, and returns that error. rustls completes a
 * TLS 1.3 handshake before the server has verified the client certificate, so the server's alert races the
 * SDK's first request: when the close wins, the error names no cause (hyper Canceled "connection closed", or
 * BrokenPipe). Such an attempt is tried again (at most 10 in all, within 30 s); a connection that succeeds,
 * or any other error, is returned at once and fails the caller's expectation.
 */
async function sdkRefusal(alert: string, tls: Parameters<typeof workloadTls>[1], files?: SecretFiles, target: Target = 'proxy'):
  Promise<string> {
  const closed = /tonic::transport::Error\(Transport, .*(Canceled, "connection closed"|BrokenPipe)/;
  const seen: string[] = [];
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; attempt < 10 && Date.now() < deadline; attempt++) {
    const outcome = await sdkConnect(tls, files, target);
    if (outcome.ok) {
      return 'connected';
    }
    if (sdkAlert(alert).test(outcome.message) || !closed.test(outcome.message)) {
      return outcome.message;
    }
    seen.push(outcome.message);
  }
  return `no attempt named the alert: ${seen.join(' | ')}`;
}

/** Client TLS for the proxy (or the frontend) with a client certificate (or none). */
function clientTls(files?: SecretFiles, target: Target = 'proxy'): ClientTls {
  const trust = target === 'proxy' ? proxyTrust() : frontendTrust();
  return { servername: trust.serverName, ca: read(trust.caFile), cert: files && read(files.cert), key: files && read(files.key) };
}

/** A DescribeNamespace call through the proxy (or to the frontend) with `files` and/or `token`: the exact outcome. */
function describeDefault(target: Target, files?: SecretFiles, token?: string) {
  const trust = target === 'proxy' ? proxyTrust() : frontendTrust();
  return grpcCall({ address: target === 'proxy' ? clientAddress() : frontendAddress(), ...trust },
    { certFile: files?.cert, keyFile: files?.key, token }, 'DescribeNamespace', encodeDescribe('default'));
}

function encodeDescribe(namespace: string): Buffer {
  return encode('DescribeNamespaceRequest', { namespace });
}

const NO_CREDENTIALS = 'the call carries neither a valid client certificate nor a bearer token';

/** Client TLS for an internode listener, from a server's own `global.tls.internode` (its client side). */
function internodeClient(files?: { cert: string; key: string }, alpn?: string[]): ClientTls {
  const { client, server: own } = globalTlsOf(server('history')).internode;
  const cert = files ?? { cert: own.certFile, key: own.keyFile };
  return { servername: client.serverName, ca: client.rootCaFiles.map(read).join(''), cert: read(cert.cert), key: read(cert.key), alpn };
}

export function registerMtlsTests(): void {
  describe('mTLS', mtlsTests);
}

function mtlsTests(): void {
  let foreign: SecretFiles;
  let expired: SecretFiles;
  let mismatched: SecretFiles;

  beforeAll(async () => {
    const c = context();
    const secretName = c.certificates.secretNameOf(WORKLOAD.namespace,
      (cert) => (cert.spec as { commonName?: string }).commonName === WORKLOAD.name);
    // A second, unrelated PKI: the same chart, the same names, other keys.
    const other = await CertificateStore.issue(synthesize(c.chartProps), join(c.work, 'foreign-pki'));
    foreign = other.files(WORKLOAD.namespace, secretName);
    const day = 24 * 3600_000;
    expired = await c.certificates.variant(WORKLOAD.namespace, secretName, 'expired', {
      notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day),
    });
    mismatched = await c.certificates.variant(WORKLOAD.namespace, secretName, 'mismatched-key', { mismatchedKey: true });
  }, MINUTE);

  describe('the authorizer proxy (the clients\' door, mTLS)', () => {
    const port = (): number => proxy().grpcPort;

    test('accepts the workload identity and presents its own certificate, valid for its serverName', () =>
      withLogs(async () => {
        const verdict = await handshake(port(), clientTls(workloadFiles()));
        expect(verdict).toMatchObject({ accepted: true, protocol: 'TLSv1.3' });
        const certFile = proxy().running.spec.env.PROXY_TLS_CERT_FILE;
        expect(verdict.presented?.fingerprint256).toBe(fingerprintOf(read(certFile)));
        expect(verdict.presented?.subjectaltname).toContain(`DNS:${proxyTrust().serverName}`);
        expect(await describeDefault('proxy', workloadFiles())).toMatchObject({ code: 0 });
      }), MINUTE);

    test('its trust anchor is the frontend purpose CA, not self-signed: rustls takes it; OpenSSL only as a partial chain', () =>
      withLogs(async () => {
        const anchor = new X509Certificate(read(proxyTrust().caFile));
        expect(anchor.ca).toBe(true);
        expect(anchor.issuer).not.toBe(anchor.subject);
        expect(await sdkConnect({})).toEqual({ ok: true, message: '' });
        // Node's OpenSSL (so grpc-js, @temporalio/client's transport, with the SDK's `tls` option) ends a chain
        // only at a self-signed root unless X509_V_FLAG_PARTIAL_CHAIN is set (see workload.ts):
        const strict = await handshake(port(), { ...clientTls(workloadFiles()), partialChain: false });
        expect(strict).toMatchObject({ accepted: false, error: { code: 'UNABLE_TO_GET_ISSUER_CERT' } });
      }), MINUTE);

    // The proxy asks for a certificate without requiring one (a caller may bring a bearer token instead): a
    // missing or invalid certificate passes TLS and gets UNAUTHENTICATED on its first call.
    test('answers a caller without a certificate (and no token) UNAUTHENTICATED', () => withLogs(async () => {
      expect(await handshake(port(), clientTls())).toMatchObject({ accepted: true });
      expect(await describeDefault('proxy')).toEqual({ code: 16, details: NO_CREDENTIALS });
    }), MINUTE);

    test('answers a certificate of an unrelated second PKI (same names, other CA) UNAUTHENTICATED', () => withLogs(async () => {
      const [theirs, ours] = [foreign, workloadFiles()].map((f) => new X509Certificate(read(f.cert)));
      expect(theirs.subject).toBe(ours.subject);
      expect(theirs.issuer).toBe(ours.issuer);
      expect(theirs.fingerprint256).not.toBe(ours.fingerprint256);
      expect(await describeDefault('proxy', foreign)).toEqual({ code: 16, details: NO_CREDENTIALS });
    }), MINUTE);

    test('answers an expired certificate of the workload CA UNAUTHENTICATED', () => withLogs(async () => {
      expect(await describeDefault('proxy', expired)).toEqual({ code: 16, details: NO_CREDENTIALS });
    }), MINUTE);

    test('refuses a certificate presented with a key that does not match it', () => withLogs(async () => {
      // OpenSSL and rustls refuse to build such a client at all ...
      await expect(handshake(port(), clientTls(mismatched))).rejects.toThrow(/key values mismatch/);
      const sdk = await sdkConnect({}, mismatched);
      expect(sdk).toEqual({ ok: false, message: expect.stringMatching(/InconsistentKeys\(KeyMismatch\)/) });
      // ... so Go presents it, signing the handshake with the wrong key: the proxy must check the proof of possession.
      const probe = buildGoProbe(context().work);
      const trust = proxyTrust();
      const tls = { servername: trust.serverName, caFile: trust.caFile, certFile: mismatched.cert, keyFile: mismatched.key };
      expect(goHandshake(probe, port(), tls)).toEqual({ accepted: false, error: expect.stringMatching(/^remote error: tls: /) });
      const files = workloadFiles();
      expect(goHandshake(probe, port(), { ...tls, certFile: files.cert, keyFile: files.key })).toEqual({ accepted: true });
    }), 2 * MINUTE);

    test('is refused by a client expecting a serverName its certificate does not carry', () => withLogs(async () => {
      const wrongName = frontendTrust().serverName; // a name of the same PKI, another server's
      const verdict = await handshake(port(), { ...clientTls(workloadFiles()), servername: wrongName });
      expect(verdict).toMatchObject({ accepted: false, error: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' } });
      expect(await sdkConnect({ serverNameOverride: wrongName }))
        .toEqual({ ok: false, message: expect.stringMatching(/InvalidCertificate\(NotValidForName/) });
    }), MINUTE);
  });

  describe('the frontend (behind the proxy)', () => {
    const port = (): number => server('frontend').grpcPort;

    test('refuses a valid workload certificate at TLS: no workload can bypass the proxy', () => withLogs(async () => {
      expect(await describeDefault('proxy', workloadFiles())).toMatchObject({ code: 0 });
      const verdict = await handshake(port(), clientTls(workloadFiles(), 'frontend'));
      expect(verdict).toMatchObject({ accepted: false, error: { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' } });
      // The SDK never gets a connection. Its error names the alert when the alert wins the race described at
      // sdkRefusal; on a busy machine every attempt can lose it (the stream is closed before the alert is read):
      // the cause is then the one the handshake above read, and any other error (or a connection) still fails.
      expect(await sdkRefusal('UnknownCA', {}, workloadFiles(), 'frontend'))
        .toMatch(new RegExp(`${sdkAlert('UnknownCA').source}|^no attempt named the alert: `));
    }), MINUTE);

    test('refuses a client without a certificate', () => withLogs(async () => {
      const verdict = await handshake(port(), clientTls(undefined, 'frontend'));
      expect(verdict).toMatchObject({ accepted: false, error: { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' } });
    }), MINUTE);

    test('takes a platform certificate at TLS, presenting its own certificate, but the server denies a call without a proxy token', () =>
      withLogs(async () => {
        const admin = platformFiles('admintools');
        const verdict = await handshake(port(), clientTls(admin, 'frontend'));
        expect(verdict).toMatchObject({ accepted: true, protocol: 'TLSv1.3' });
        const { server: own } = globalTlsOf(server('frontend')).frontend;
        expect(verdict.presented?.fingerprint256).toBe(fingerprintOf(read(own.certFile)));
        // The same certificate gets system admin through the proxy; straight to the frontend it gets nothing.
        expect(await describeDefault('proxy', admin)).toMatchObject({ code: 0 });
        expect(await describeDefault('frontend', admin)).toEqual({ code: 7, details: 'Request unauthorized.' });
      }), MINUTE);
  });

  describe('the internode listeners', () => {
    test('accept the internode certificate and refuse workload and platform-client certificates (gRPC and membership ports; ' +
      'the internal-frontend, system admin to whoever it admits, included)', () =>
      withLogs(async () => {
        const admin = platformFiles('admintools');
        const history = server('history');
        const internalFrontend = server('internal-frontend');
        for (const port of [history.grpcPort, history.membershipPort, internalFrontend.grpcPort]) {
          const alpn = port === history.membershipPort ? [] : ['h2'];
          expect(await handshake(port, internodeClient(undefined, alpn))).toMatchObject({ accepted: true });
          for (const files of [workloadFiles(), admin]) {
            expect(await handshake(port, internodeClient(files, alpn)))
              .toMatchObject({ accepted: false, error: { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' } });
          }
        }
      }), MINUTE);
  });

  describe('ringpop membership', () => {
    test('every membership port speaks TChannel inside TLS, presenting its service\'s own internode certificate to an internode client', () =>
      withLogs(async () => {
        for (const s of servers.values()) {
          // Each service presents its own internode certificate.
          const internode = fingerprintOf(read(globalTlsOf(s).internode.server.certFile));
          const result = await exchange(s.membershipPort, tchannelInitRequest(), { tls: internodeClient(), expectBytes: 16 });
          expect({ component: s.component, error: result.error, type: result.reply?.readUInt8(2) })
            .toEqual({ component: s.component, error: undefined, type: TCHANNEL.initRes });
          expect(result.presented?.fingerprint256).toBe(internode);
        }
      }), MINUTE);

    test('a plaintext TChannel client gets no service on any membership port', () => withLogs(async () => {
      for (const s of servers.values()) {
        const result = await exchange(s.membershipPort, tchannelInitRequest(), { expectBytes: 16, timeoutMs: 5000 });
        expect({ component: s.component, closed: result.closed }).toEqual({ component: s.component, closed: true });
        // Nothing back, or a TLS alert record (content type 21): never a TChannel frame.
        expect(result.reply === undefined || result.reply.readUInt8(0) === 21).toBe(true);
      }
    }), MINUTE);
  });
}
