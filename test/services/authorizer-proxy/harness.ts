/**
 * An in-process stage for the proxy: a stand-in frontend (a gRPC server that records what reaches it), an
 * identity provider's JWKS, the proxy itself on port 0, and clients that present a certificate or a token.
 * The real frontend, SDK and identity provider are in the end-to-end tier.
 */
import { createServer, Server as HttpServer } from 'node:http';
import { createSecureServer, Http2SecureServer, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { createSecureContext, TLSSocket } from 'node:tls';
import {
  Client, credentials, Metadata, sendUnaryData, Server, ServerCredentials, ServerUnaryCall, ServerWritableStream, ServiceError,
} from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import { exportJWK, generateKeyPair, JWK, KeyLike, SignJWT } from 'jose';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { encode } from '../../e2e/grpc-call';
import { ProxyConfig, RunningProxy, startProxy } from '../../../services/authorizer-proxy/proxy';
import { signingKeyPem } from './signing-key';
import { Issued, TestPki } from './test-pki';

const PROXY_NAME = 'temporal-authorizer-proxy.temporal.svc.cluster.local';
const WF = 'temporal.api.workflowservice.v1.WorkflowService';
const OP = 'temporal.api.operatorservice.v1.OperatorService';
export const IDP_ISSUER = 'https://idp.example.com';
export const IDP_AUDIENCE = 'temporal';

const { GetClusterInfoResponse } = temporal.api.workflowservice.v1;

/** A GetClusterInfoResponse with all ten fields set. */
export const FULL_CLUSTER_INFO = {
  supportedClients: { 'temporal-go': '>=1.0.0' }, serverVersion: '1.31.2', clusterId: 'c0ffee00-0000-4000-8000-000000000001',
  versionInfo: { current: { version: '1.31.2' } }, clusterName: 'active', historyShardCount: 512, persistenceStore: 'postgres12',
  visibilityStore: 'postgres12', initialFailoverVersion: 1, failoverVersionIncrement: 10,
};

/** Encodes a request message of the WorkflowService (or OperatorService) with the SDK's protos. */
export const request = encode;

export interface Received {
  readonly path: string;
  readonly bytes: Buffer;
  readonly metadata: Metadata;
  cancelled: boolean;
}

/** A stand-in frontend: mutual TLS (the platform-clients CA's root), every call recorded and echoed back. */
export async function standInFrontend(pki: TestPki, options: { pollMs?: number } = {}): Promise<{
  port: number; received: Received[]; server: Server; stop(): Promise<void>;
}> {
  const received: Received[] = [];
  const server = new Server();
  const echo = (path: string) => (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    const entry: Received = { path, bytes: call.request, metadata: call.metadata, cancelled: false };
    received.push(entry);
    call.on('cancelled', () => {
      entry.cancelled = true;
    });
    const respond = () => {
      if (!call.cancelled) {
        call.sendMetadata(new Metadata({}));
        callback(null, call.request);
      }
    };
    if (path.endsWith('/GetClusterInfo')) {
      // What the frontend answers: every field of GetClusterInfoResponse (temporalio/api), as the server fills them.
      call.sendMetadata(new Metadata({}));
      callback(null, Buffer.from(GetClusterInfoResponse.encode(FULL_CLUSTER_INFO as never).finish()));
      return;
    }
    if (path.endsWith('/PollWorkflowTaskQueue')) {
      setTimeout(respond, options.pollMs ?? 50);
    } else if (path.endsWith('/SignalWorkflowExecution')) {
      const trailer = new Metadata();
      trailer.set('x-stand-in', 'refused');
      callback({ code: 9, details: 'workflow not running', metadata: trailer } as ServiceError);
    } else {
      respond();
    }
  };
  const identity = (b: Buffer) => b;
  for (const name of ['StartWorkflowExecution', 'DescribeNamespace', 'ListNamespaces', 'PollWorkflowTaskQueue', 'SignalWorkflowExecution',
    'GetSystemInfo', 'RespondWorkflowTaskCompleted', 'GetClusterInfo']) {
    server.register(`/${WF}/${name}`, echo(`/${WF}/${name}`), identity, identity, 'unary');
  }
  for (const name of ['ListClusters', 'DeleteNamespace']) {
    server.register(`/${OP}/${name}`, echo(`/${OP}/${name}`), identity, identity, 'unary');
  }
  server.register('/grpc.health.v1.Health/Watch', (call: ServerWritableStream<Buffer, Buffer>) => {
    received.push({ path: '/grpc.health.v1.Health/Watch', bytes: call.request, metadata: call.metadata, cancelled: false });
    call.write(Buffer.from([8, 1]));
    call.write(Buffer.from([8, 1]));
    call.end();
  }, identity, identity, 'serverStream');
  const creds = ServerCredentials.createSsl(Buffer.from(pki.root.cert),
    [{ private_key: Buffer.from(pki.frontendServer.key), cert_chain: Buffer.from(pki.frontendServer.cert + pki.frontendCa.cert) }], true);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  return { port, received, server, stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** An identity provider's JWKS on loopback, and a signer of its tokens. */
export async function identityProvider(): Promise<{
  jwksUri: string; key: KeyLike; kid: string; jwk: JWK;
  sign(claims: object, header?: object, key?: KeyLike): Promise<string>;
  stop(): Promise<void>;
}> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = 'idp-key-1';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const server: HttpServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const now = () => Math.floor(Date.now() / 1000);
  return {
    jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
    key: privateKey,
    kid,
    jwk,
    sign: (claims, header = {}, key = privateKey) => new SignJWT({ iss: IDP_ISSUER, aud: IDP_AUDIENCE, iat: now(), exp: now() + 300,
      ...claims }).setProtectedHeader({ alg: 'RS256', kid, ...header }).sign(key),
    stop: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The proxy on loopback, in front of `frontendPort`, with `policy`. */
export async function proxy(pki: TestPki, frontendPort: number, policy: AuthorizerPolicy, jwksUri?: string,
  logDestination?: NodeJS.WritableStream, overrides: Partial<ProxyConfig> = {}):
  Promise<{ proxy: RunningProxy; policyFile: string; keyFile: string }> {
  const policyFile = pki.file(`policy-${Math.random()}.json`, JSON.stringify(policy));
  const keyFile = pki.file(`signing-${Math.random()}.key`, signingKeyPem());
  const running = await startProxy({
    listen: { host: '127.0.0.1', port: 0, certFile: pki.file('proxy.crt', pki.proxyServer.cert + pki.frontendCa.cert),
      keyFile: pki.file('proxy.key', pki.proxyServer.key), clientCaFiles: [pki.file('workload-ca.crt', pki.workloadCa.cert)],
      platformCaFiles: [pki.file('platform-clients-ca.crt', pki.platformCa.cert)], chainCaFiles: [pki.file('root-ca.crt', pki.root.cert)] },
    http: { host: '127.0.0.1', port: 0 },
    jwks: { host: '127.0.0.1', port: 0 },
    trustDomain: 'cluster.local',
    upstream: { address: `127.0.0.1:${frontendPort}`, serverName: 'temporal-frontend.temporal.svc.cluster.local',
      caFiles: [pki.file('frontend-ca.crt', pki.frontendCa.cert)], certFile: pki.file('client.crt', pki.proxyClient.cert + pki.platformCa.cert),
      keyFile: pki.file('client.key', pki.proxyClient.key), drainMs: 1_000 },
    signer: { keyFile, issuer: 'temporal-authorizer-proxy', audience: 'temporal-frontend', ttlSeconds: 300, publishDelaySeconds: 60 },
    policyFile,
    reloadSeconds: 600,
    ...(jwksUri ? { oidc: { issuer: IDP_ISSUER, audience: IDP_AUDIENCE, jwksUri } } : {}),
    logLevel: 'info',
    logDestination,
    ...overrides,
  });
  return { proxy: running, policyFile, keyFile };
}

/** A gRPC client of the proxy presenting `cert` (or no certificate). */
export function clientOf(pki: TestPki, port: number, cert?: Issued, chain = ''): Client {
  const context = createSecureContext({ ca: pki.frontendCa.cert, allowPartialTrustChain: true,
    ...(cert ? { cert: cert.cert + chain, key: cert.key } : {}) });
  return new Client(`127.0.0.1:${port}`, credentials.createFromSecureContext(context), {
    'grpc.ssl_target_name_override': PROXY_NAME, 'grpc.default_authority': PROXY_NAME,
  });
}

/** A unary call through `client`: the status code and details, or the response. */
export function call(client: Client, path: string, body: Buffer, metadata = new Metadata(), deadlineMs = 10_000):
  Promise<{ code: number; details: string; response?: Buffer; trailer?: Metadata }> {
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, body, metadata, { deadline: Date.now() + deadlineMs }, (err, response) => {
      resolve(err ? { code: err.code, details: err.details, trailer: err.metadata } : { code: 0, details: '', response });
    });
  });
}

export const WORKFLOW = (name: string): string => `/${WF}/${name}`;
export const OPERATOR = (name: string): string => `/${OP}/${name}`;

export interface Seen {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The SHA-256 fingerprint of the client certificate the call's connection presented. */
  readonly peer: string;
}

/** What the raw frontend does with a call. */
export type Answer = (stream: ServerHttp2Stream, seen: Seen) => void;

export const ok: Answer = (stream, seen) => {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(seen.body);
};

/** A raw HTTP/2 frontend (mutual TLS, the platform-clients root): records every call's headers and body, answers as told. */
export async function rawFrontend(pki: TestPki): Promise<{
  port: number; seen: Seen[]; answer: { next: Answer }; server: Http2SecureServer;
}> {
  const seen: Seen[] = [];
  const answer = { next: ok };
  const server = createSecureServer({ cert: pki.frontendServer.cert + pki.frontendCa.cert, key: pki.frontendServer.key,
    ca: pki.root.cert, requestCert: true, rejectUnauthorized: true });
  server.on('stream', (stream, headers) => {
    // Streams this frontend resets on purpose report it as an error: expected here.
    stream.on('error', () => undefined);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const peer = (stream.session?.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const entry = { headers, body: Buffer.concat(chunks), peer };
      seen.push(entry);
      answer.next(stream, entry);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen, answer, server };
}

/** A gRPC frame: the 5-byte prefix (compressed flag, length) and the message. */
export function framed(message: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** A frontend that takes every call and neither reads it nor answers it: the streams it holds, in order. */
export async function holdingFrontend(pki: TestPki): Promise<{ port: number; held: ServerHttp2Stream[]; stop(): Promise<void> }> {
  const held: ServerHttp2Stream[] = [];
  const server = createSecureServer({ cert: pki.frontendServer.cert + pki.frontendCa.cert, key: pki.frontendServer.key, ca: pki.root.cert,
    requestCert: true, rejectUnauthorized: true });
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    held.push(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    stop: () => new Promise((resolve) => {
      held.forEach((s) => s.session?.destroy());
      server.close(() => resolve());
    }),
  };
}

/** A log destination for the proxy, and the audit records and service log lines written to it. */
export function collectedLog(): { destination: PassThrough; audit: Record<string, unknown>[]; lines: Record<string, unknown>[] } {
  const destination = new PassThrough();
  const audit: Record<string, unknown>[] = [];
  const lines: Record<string, unknown>[] = [];
  destination.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter((l) => l !== '').forEach((l) => {
    const line = JSON.parse(l) as Record<string, unknown>;
    (line.audit !== undefined ? audit : lines).push((line.audit ?? line) as Record<string, unknown>);
  }));
  return { destination, audit, lines };
}
