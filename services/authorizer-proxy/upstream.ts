/**
 * The connection to the frontend: mutual TLS with the proxy's platform-clients certificate, the frontend's
 * name verified against its CA (a purpose CA, so OpenSSL is told to accept a partial chain). When the
 * certificate files change (rotation), new calls go over a fresh channel; calls in flight finish on the old
 * one, which is closed after a grace period.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ChannelOptions, Client, credentials } from '@grpc/grpc-js';

export interface UpstreamOptions {
  /** `host:port` of the frontend. */
  readonly address: string;
  /** The name the frontend's certificate must carry. */
  readonly serverName: string;
  /** PEM files: the frontend's CA, the proxy's client certificate (with its chain) and key. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** How long an old channel lives after a rotation (longer than the longest call, a 70 s long poll). @default 120000 */
  readonly drainMs?: number;
}

/** Message size limits: as large as the frontend's own (payloads are the caller's business, not the proxy's). */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export class Upstream {
  private client: Client;
  private digest: string;
  private readonly retired = new Set<Client>();

  public constructor(private readonly options: UpstreamOptions) {
    const { client, digest } = this.connect();
    this.client = client;
    this.digest = digest;
  }

  private read(): { ca: Buffer; cert: Buffer; key: Buffer; digest: string } {
    const [ca, cert, key] = [this.options.caFile, this.options.certFile, this.options.keyFile].map((f) => readFileSync(f));
    return { ca, cert, key, digest: createHash('sha256').update(ca).update(cert).update(key).digest('hex') };
  }

  private connect(): { client: Client; digest: string } {
    const { ca, cert, key, digest } = this.read();
    const context = createSecureContext({ ca, cert, key, allowPartialTrustChain: true, minVersion: 'TLSv1.2' });
    const options: ChannelOptions = {
      'grpc.ssl_target_name_override': this.options.serverName,
      'grpc.default_authority': this.options.serverName,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      // A channel of its own per generation, never shared with an older one.
      'grpc.use_local_subchannel_pool': 1,
    };
    return { client: new Client(this.options.address, credentials.createFromSecureContext(context), options), digest };
  }

  /** The channel for a new call. */
  public get current(): Client {
    return this.client;
  }

  /** Re-reads the certificate files; on a change, new calls use a new channel. Returns true on a change. */
  public reload(): boolean {
    const { digest } = this.read();
    if (digest === this.digest) {
      return false;
    }
    const old = this.client;
    const { client } = this.connect();
    this.client = client;
    this.digest = digest;
    this.retired.add(old);
    setTimeout(() => {
      old.close();
      this.retired.delete(old);
    }, this.options.drainMs ?? 120_000).unref();
    return true;
  }

  public close(): void {
    this.client.close();
    this.retired.forEach((c) => c.close());
    this.retired.clear();
  }
}
