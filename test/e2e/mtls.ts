/**
 * The mTLS properties of the running cluster (docs/SECURITY.md, issue 3 "How it must be proven"):
 * who the frontend and the internode listeners admit and refuse, what they present, and that ringpop
 * membership traffic is TLS. Registered inside the cluster's describe block of cluster.e2e.test.ts.
 * Every refusal is asserted as the error the client sees (a TLS alert or a verification error), with
 * short timeouts, never as a hang; every refusal has an acceptance next to it that differs only in the
 * property under test.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { CertificateStore, fingerprintOf, SecretFiles } from './certificates';
import {
  CHART_PROPS, context, frontendAddress, globalTlsOf, MINUTE, server, servers, withLogs, WORKLOAD, workloadFiles,
} from './harness';
import { synthesize } from './manifests';
import { buildGoProbe, ClientTls, exchange, goHandshake, handshake, TCHANNEL, tchannelInitRequest } from './tls-probe';
import { frontendTrust, workloadTls } from './workload';

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

/** A NativeConnection (the worker's, rustls) with `files`: its outcome within 15 s, the connection closed. */
async function sdkConnect(tls: Parameters<typeof workloadTls>[1], files?: SecretFiles): Promise<{ ok: boolean; message: string }> {
  const outcome = await settle(NativeConnection.connect({ address: frontendAddress(), tls: workloadTls(files, tls) }), 15_000);
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
async function sdkRefusal(alert: string, tls: Parameters<typeof workloadTls>[1], files?: SecretFiles): Promise<string> {
  const closed = /tonic::transport::Error\(Transport, .*(Canceled, "connection closed"|BrokenPipe)/;
  const seen: string[] = [];
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; attempt < 10 && Date.now() < deadline; attempt++) {
    const outcome = await sdkConnect(tls, files);
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

/** Client TLS for the frontend with a client certificate (or none). */
function frontendClient(files?: SecretFiles): ClientTls {
  const trust = frontendTrust();
  return { servername: trust.serverName, ca: read(trust.caFile), cert: files && read(files.cert), key: files && read(files.key) };
}

/** Client TLS for an internode listener, from a server's own `global.tls.internode` (its client side). */
function internodeClient(files?: { cert: string; key: string }, alpn?: string[]): ClientTls {
  const { client, server: own } = globalTlsOf(server('history')).internode;
  const cert = files ?? { cert: own.certFile, key: own.keyFile };
  return { servername: client.serverName, ca: read(client.rootCaFiles[0]), cert: read(cert.cert), key: read(cert.key), alpn };
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
    const secretName = c.certificates.secretNameOf(WORKLOAD.namespace, () => true);
    // A second, unrelated PKI: the same chart, the same names, other keys.
    const other = await CertificateStore.issue(synthesize(CHART_PROPS), join(c.work, 'foreign-pki'));
    foreign = other.files(WORKLOAD.namespace, secretName);
    const day = 24 * 3600_000;
    expired = await c.certificates.variant(WORKLOAD.namespace, secretName, 'expired', {
      notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day),
    });
    mismatched = await c.certificates.variant(WORKLOAD.namespace, secretName, 'mismatched-key', { mismatchedKey: true });
  }, MINUTE);

  describe('the frontend (mTLS)', () => {
    const port = (): number => server('frontend').grpcPort;

    test('accepts the workload identity and presents its own certificate, valid for the configured serverName', () =>
      withLogs(async () => {
        const verdict = await handshake(port(), frontendClient(workloadFiles()));
        expect(verdict).toMatchObject({ accepted: true, protocol: 'TLSv1.3' });
        const { server: own } = globalTlsOf(server('frontend')).frontend;
        expect(verdict.presented?.fingerprint256).toBe(fingerprintOf(read(own.certFile)));
        expect(verdict.presented?.subjectaltname).toContain(`DNS:${frontendTrust().serverName}`);
      }), MINUTE);

    test('its trust anchor is the frontend purpose CA, not self-signed: rustls takes it; OpenSSL only as a partial chain', () =>
      withLogs(async () => {
        const anchor = new X509Certificate(read(frontendTrust().caFile));
        expect(anchor.ca).toBe(true);
        expect(anchor.issuer).not.toBe(anchor.subject);
        expect(await sdkConnect({})).toEqual({ ok: true, message: '' });
        // Node's OpenSSL (so grpc-js, @temporalio/client's transport, with the SDK's `tls` option) ends a chain
        // only at a self-signed root unless X509_V_FLAG_PARTIAL_CHAIN is set (see workload.ts):
        const strict = await handshake(port(), { ...frontendClient(workloadFiles()), partialChain: false });
        expect(strict).toMatchObject({ accepted: false, error: { code: 'UNABLE_TO_GET_ISSUER_CERT' } });
      }), MINUTE);

    test('refuses a client without a certificate', () => withLogs(async () => {
      const verdict = await handshake(port(), frontendClient());
      expect(verdict).toMatchObject({ accepted: false, error: { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' } });
      expect(await sdkRefusal('CertificateRequired', { clientCertPair: undefined })).toMatch(sdkAlert('CertificateRequired'));
    }), MINUTE);

    test('refuses a certificate of an unrelated second PKI (same names, other CA)', () => withLogs(async () => {
      const [theirs, ours] = [foreign, workloadFiles()].map((f) => new X509Certificate(read(f.cert)));
      expect(theirs.subject).toBe(ours.subject);
      expect(theirs.issuer).toBe(ours.issuer);
      expect(theirs.fingerprint256).not.toBe(ours.fingerprint256);
      const verdict = await handshake(port(), frontendClient(foreign));
      expect(verdict).toMatchObject({ accepted: false, error: { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' } });
      expect(await sdkRefusal('UnknownCA', {}, foreign)).toMatch(sdkAlert('UnknownCA'));
    }), MINUTE);

    test('refuses an expired certificate of the workload CA', () => withLogs(async () => {
      const verdict = await handshake(port(), frontendClient(expired));
      expect(verdict).toMatchObject({ accepted: false, error: { code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED' } });
      expect(await sdkRefusal('CertificateExpired', {}, expired)).toMatch(sdkAlert('CertificateExpired'));
    }), MINUTE);

    test('refuses a certificate presented with a key that does not match it', () => withLogs(async () => {
      // OpenSSL and rustls refuse to build such a client at all ...
      await expect(handshake(port(), frontendClient(mismatched))).rejects.toThrow(/key values mismatch/);
      const sdk = await sdkConnect({}, mismatched);
      expect(sdk).toEqual({ ok: false, message: expect.stringMatching(/InconsistentKeys\(KeyMismatch\)/) });
      // ... so Go presents it, signing the handshake with the wrong key: the server must check the proof of possession.
      const probe = buildGoProbe(context().work);
      const trust = frontendTrust();
      const tls = { servername: trust.serverName, caFile: trust.caFile, certFile: mismatched.cert, keyFile: mismatched.key };
      expect(goHandshake(probe, port(), tls)).toEqual({ accepted: false, error: 'remote error: tls: error decrypting message' });
      const files = workloadFiles();
      expect(goHandshake(probe, port(), { ...tls, certFile: files.cert, keyFile: files.key })).toEqual({ accepted: true });
    }), 2 * MINUTE);

    test('is refused by a client expecting a serverName its certificate does not carry', () => withLogs(async () => {
      const wrongName = globalTlsOf(server('frontend')).internode.client.serverName; // a name of the same PKI, another server's
      const verdict = await handshake(port(), { ...frontendClient(workloadFiles()), servername: wrongName });
      expect(verdict).toMatchObject({ accepted: false, error: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' } });
      expect(await sdkConnect({ serverNameOverride: wrongName }))
        .toEqual({ ok: false, message: expect.stringMatching(/InvalidCertificate\(NotValidForName/) });
    }), MINUTE);
  });

  describe('the internode listeners', () => {
    test('accept the internode certificate and refuse workload and platform-client certificates (gRPC and membership ports)', () =>
      withLogs(async () => {
        const c = context();
        const admin = c.certificates.files(c.namespace, c.certificates.secretNameOf(c.namespace,
          (cert) => (cert.spec as { commonName?: string }).commonName === 'admintools'));
        const history = server('history');
        for (const port of [history.grpcPort, history.membershipPort]) {
          const alpn = port === history.grpcPort ? ['h2'] : [];
          expect(await handshake(port, internodeClient(undefined, alpn))).toMatchObject({ accepted: true });
          for (const files of [workloadFiles(), admin]) {
            expect(await handshake(port, internodeClient(files, alpn)))
              .toMatchObject({ accepted: false, error: { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' } });
          }
        }
      }), MINUTE);
  });

  describe('ringpop membership', () => {
    test('every membership port speaks TChannel inside TLS, presenting the internode certificate to an internode client', () =>
      withLogs(async () => {
        const internode = fingerprintOf(read(globalTlsOf(server('history')).internode.server.certFile));
        for (const s of servers.values()) {
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
