/**
 * Raw TLS clients for the mTLS tests: a Node (OpenSSL) handshake that reports whether the server
 * accepted the client certificate, a TChannel exchange (ringpop's protocol) over TLS or plain TCP, and a
 * Go client (tlsprobe/) for the one case Node and the SDK cannot express: a certificate presented with a
 * key that does not match it.
 */
import { spawnSync } from 'node:child_process';
import { connect as connectTcp, Socket } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls, PeerCertificate, TLSSocket } from 'node:tls';

const HOST = '127.0.0.1';

export interface ClientTls {
  /** SNI and the name verified in the server's certificate. */
  readonly servername: string;
  /** PEM trust anchor(s); the server's certificate is verified against them (partial chains allowed). */
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
  /** @default ['h2'] (gRPC) */
  readonly alpn?: readonly string[];
  /** Let a non-self-signed anchor end the chain (OpenSSL's X509_V_FLAG_PARTIAL_CHAIN). @default true */
  readonly partialChain?: boolean;
}

/** What the server presented. */
export interface PresentedCertificate {
  readonly fingerprint256: string;
  readonly serialNumber: string;
  readonly subjectaltname?: string;
  /** Common name of its issuer (which CA, which key slot, signed it). */
  readonly issuerCommonName?: string;
}

export interface Verdict {
  /**
   * The server accepted the client: with TLS 1.3 a server that requests a client certificate sends its
   * session tickets only after verifying that certificate (Go crypto/tls), so a ticket (or any data) is
   * the acceptance; an alert or a close is the refusal.
   */
  readonly accepted: boolean;
  /** What ended the connection: an OpenSSL error code (e.g. ERR_SSL_TLSV1_ALERT_UNKNOWN_CA), CLOSED or TIMEOUT. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly presented?: PresentedCertificate;
  readonly protocol?: string;
}

function tlsSocket(port: number, tls: ClientTls): TLSSocket {
  return connectTls({
    host: HOST,
    port,
    servername: tls.servername,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    ALPNProtocols: [...(tls.alpn ?? ['h2'])],
    allowPartialTrustChain: tls.partialChain ?? true,
  });
}

function presentedOf(peer: PeerCertificate): PresentedCertificate {
  const issuer = peer.issuer?.CN;
  return { fingerprint256: peer.fingerprint256, serialNumber: peer.serialNumber, subjectaltname: peer.subjectaltname,
    ...(typeof issuer === 'string' ? { issuerCommonName: issuer } : {}) };
}

/** A TLS handshake with `tls` against 127.0.0.1:`port`, and the server's verdict on the client within `timeoutMs`. */
export function handshake(port: number, tls: ClientTls, timeoutMs = 10_000): Promise<Verdict> {
  return new Promise((resolve) => {
    const socket = tlsSocket(port, tls);
    let presented: PresentedCertificate | undefined;
    let protocol: string | undefined;
    const done = (verdict: Pick<Verdict, 'accepted' | 'error'>): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve({ ...verdict, presented, protocol });
    };
    const timer = setTimeout(() => done({ accepted: false, error: { code: 'TIMEOUT', message: `no verdict within ${timeoutMs} ms` } }),
      timeoutMs);
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      presented = presentedOf(peer);
      protocol = socket.getProtocol() ?? undefined;
    });
    socket.once('session', () => done({ accepted: true }));
    socket.once('data', () => done({ accepted: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ accepted: false, error: { code: err.code ?? 'ERROR', message: err.message } }));
    socket.once('close', () => done({ accepted: false, error: { code: 'CLOSED', message: 'closed without a verdict' } }));
  });
}

/** A TChannel frame: size:2 type:1 reserved:1 id:4 reserved:8, then the payload (TChannel protocol v2). */
function tchannelFrame(type: number, id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt16BE(16 + payload.length, 0);
  header.writeUInt8(type, 2);
  header.writeUInt32BE(id, 4);
  return Buffer.concat([header, payload]);
}

/** TChannel frame types. */
export const TCHANNEL = { initReq: 0x01, initRes: 0x02, error: 0xff } as const;

/** The `init req` every TChannel connection starts with (version 2, host_port and process_name headers). */
export function tchannelInitRequest(): Buffer {
  const headers: [string, string][] = [['host_port', '0.0.0.0:0'], ['process_name', 'secure-temporal-e2e']];
  const parts = [Buffer.from([0x00, 0x02]), Buffer.from([0x00, headers.length])];
  for (const [k, v] of headers) {
    for (const s of [k, v]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(b.length);
      parts.push(len, b);
    }
  }
  return tchannelFrame(TCHANNEL.initReq, 1, Buffer.concat(parts));
}

export interface Exchange {
  /** The first bytes the server sent back, if any. */
  readonly reply?: Buffer;
  readonly error?: { readonly code: string; readonly message: string };
  /** The server closed the connection. */
  readonly closed: boolean;
  readonly presented?: PresentedCertificate;
}

/**
 * Sends `request` to 127.0.0.1:`port` (over TLS with `tls`, else plain TCP) and collects what comes back
 * until `expectBytes` arrived, the connection ends or `timeoutMs` passes.
 */
export function exchange(port: number, request: Buffer, opts: { tls?: ClientTls; expectBytes?: number; timeoutMs?: number } = {}):
  Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let presented: PresentedCertificate | undefined;
    const socket: Socket = opts.tls === undefined ? connectTcp({ host: HOST, port }) : tlsSocket(port, { alpn: [], ...opts.tls });
    const done = (result: Pick<Exchange, 'error' | 'closed'>): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve({ ...result, presented, reply: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
    };
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const timer = setTimeout(() => done({ closed: false, error: { code: 'TIMEOUT', message: `nothing within ${timeoutMs} ms` } }),
      timeoutMs);
    socket.once(opts.tls === undefined ? 'connect' : 'secureConnect', () => {
      if (socket instanceof TLSSocket) {
        const peer = socket.getPeerCertificate();
        presented = presentedOf(peer);
      }
      socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).length >= (opts.expectBytes ?? 1)) {
        done({ closed: false });
      }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done({ closed: true, error: { code: err.code ?? 'ERROR', message: err.message } }));
    socket.once('end', () => done({ closed: true }));
    socket.once('close', () => done({ closed: true }));
  });
}

/** The Go client of tlsprobe/: build once into `dir`. Throws with the build output when there is no Go toolchain. */
export function buildGoProbe(dir: string): string {
  const binary = join(dir, 'tlsprobe');
  const build = spawnSync('go', ['build', '-o', binary, '.'], {
    cwd: join(__dirname, 'tlsprobe'), encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
  });
  if (build.error !== undefined || build.status !== 0) {
    throw new Error(`building test/e2e/tlsprobe needs the Go toolchain scripts/install-peers.sh uses: ${build.error?.message ?? build.stderr}`);
  }
  return binary;
}

export interface GoVerdict {
  readonly accepted: boolean;
  /** The client's handshake error or the server's alert as Go reports it. */
  readonly error?: string;
}

/**
 * Go's crypto/tls client with the certificate chain of `certFile` and whatever key is in `keyFile`,
 * loaded without the usual "does the key match the certificate" check, then an HTTP/2 preface: the
 * server's SETTINGS frame is the acceptance.
 */
export function goHandshake(binary: string, port: number, tls: { servername: string; caFile: string; certFile: string; keyFile: string }):
  GoVerdict {
  const run = spawnSync(binary, [`${HOST}:${port}`, tls.servername, tls.caFile, tls.certFile, tls.keyFile], {
    encoding: 'utf8', timeout: 20_000,
  });
  if (run.status !== 0) {
    throw new Error(`tlsprobe failed (${run.status ?? run.signal}): ${run.stderr}`);
  }
  return JSON.parse(run.stdout) as GoVerdict;
}
