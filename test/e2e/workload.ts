/**
 * A workload (worker and client) connecting through mTLS the way docs/SECURITY.md tells a worker to: to the
 * authorizer proxy, with the declared identity's certificate and key, the frontend CA as the only trust anchor
 * (read from the running frontend's config) and the proxy's Service name as serverName.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createSecureContext } from 'node:tls';
import { Client, Connection, ConnectionOptions, DataConverter, TLSConfig } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { SecretFiles } from './certificates';
import { clientAddress, context, globalTlsOf, server, workloadFiles } from './harness';
import { COMPONENT_LABEL, findAllByLabels, serviceHost } from './manifests';
import * as activities from './workflows/activities';

/**
 * The frontend's serverName and trust anchors, from `global.tls.frontend.client` of the running frontend: its root CA
 * files (both key slots of the frontend CA) copied into one bundle, as a client namespace keeps them (docs/SECURITY.md:
 * a ConfigMap of both slots' certificates), taken now.
 */
export function frontendTrust(): { serverName: string; caFile: string } {
  const { client } = globalTlsOf(server('frontend')).frontend;
  if (client.rootCaFiles.length !== 2) {
    throw new Error(`expected the frontend CA's two key slots as root CA files, got ${client.rootCaFiles.join(', ')}`);
  }
  const caFile = join(context().work, 'frontend-ca-bundle.pem');
  writeFileSync(caFile, client.rootCaFiles.map((f) => readFileSync(f, 'utf8')).join(''));
  return { serverName: client.serverName, caFile };
}

/** The authorizer proxy's serverName (its Service's DNS name) and trust anchor (the frontend CA, which issued its certificate). */
export function proxyTrust(): { serverName: string; caFile: string } {
  const c = context();
  const service = findAllByLabels(c.manifests.objects, 'Service', { [COMPONENT_LABEL]: 'authorizer-proxy' })[0];
  return { serverName: serviceHost(service, c.manifests.clusterDomain), caFile: frontendTrust().caFile };
}

/**
 * SDK TLS options for a client certificate (default: the declared workload identity's) towards the proxy, or
 * towards the frontend itself with `target: 'frontend'`.
 */
export function workloadTls(files: SecretFiles | undefined = workloadFiles(), overrides: Partial<TLSConfig> = {},
  target: 'proxy' | 'frontend' = 'proxy'): TLSConfig {
  const trust = target === 'proxy' ? proxyTrust() : frontendTrust();
  return {
    serverNameOverride: trust.serverName,
    serverRootCACertificate: readFileSync(trust.caFile),
    ...(files ? { clientCertPair: { crt: readFileSync(files.cert), key: readFileSync(files.key) } } : {}),
    ...overrides,
  };
}

/**
 * The grpc-js that @temporalio/client itself loads (its ChannelCredentials must be that module's): a
 * dependency of the SDK, not of this project.
 */
const grpc = createRequire(require.resolve('@temporalio/client'))('@grpc/grpc-js') as typeof import('@grpc/grpc-js');

/**
 * Client connection options for `tls`. The SDK's own `tls` option cannot be used: grpc-js verifies with
 * Node's OpenSSL, which without X509_V_FLAG_PARTIAL_CHAIN only accepts a chain ending in a self-signed
 * root, and the frontend CA anchor is an intermediate (error UNABLE_TO_GET_ISSUER_CERT, "unable to get
 * issuer certificate"; the SDK reports "Failed to connect before the deadline"). The same files and
 * serverName, through a SecureContext with `allowPartialTrustChain`, do work (and verify the host name).
 */
export function clientConnectionOptions(tls: TLSConfig): Pick<ConnectionOptions, 'credentials' | 'channelArgs'> {
  const context = createSecureContext({
    ca: tls.serverRootCACertificate === undefined ? undefined : Buffer.from(tls.serverRootCACertificate),
    cert: tls.clientCertPair === undefined ? undefined : Buffer.from(tls.clientCertPair.crt),
    key: tls.clientCertPair === undefined ? undefined : Buffer.from(tls.clientCertPair.key),
    allowPartialTrustChain: true,
  });
  const name = tls.serverNameOverride;
  return {
    credentials: grpc.credentials.createFromSecureContext(context),
    channelArgs: name === undefined ? {} : { 'grpc.ssl_target_name_override': name, 'grpc.default_authority': name },
  };
}

/** Both SDK connections of a workload: the worker's (Rust core, rustls) and the client's (grpc-js, OpenSSL). */
export interface WorkloadConnections {
  readonly native: NativeConnection;
  readonly client: Connection;
  close(): Promise<void>;
}

/**
 * Both connections through the proxy (`address`), with `tls`; with `token`, every call carries it as a bearer token
 * (and `tls` may then have no client certificate).
 */
export async function connectWorkload(tls: TLSConfig = workloadTls(), options: { token?: string; apiKey?: string; address?: string } = {}):
  Promise<WorkloadConnections> {
  const address = options.address ?? clientAddress();
  const metadata = options.token ? { authorization: `Bearer ${options.token}` } : undefined;
  // `apiKey` is the SDK's own option (Temporal Cloud's model) on the worker's native connection: it sends
  // `authorization: Bearer <key>`. The client connection carries its TLS as grpc-js credentials (the frontend CA is an
  // intermediate), which the SDK does not combine with `apiKey`: it sends the same header as metadata.
  const native = await NativeConnection.connect({ address, tls, ...(metadata ? { metadata } : {}),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}) });
  const clientMetadata = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : metadata;
  try {
    const client = await Connection.connect({ address, ...clientConnectionOptions(tls), connectTimeout: 10_000,
      ...(clientMetadata ? { metadata: clientMetadata } : {}) });
    return {
      native, client, close: async () => {
        await client.close();
        await native.close();
      },
    };
  } catch (err) {
    await native.close();
    throw err;
  }
}

/** A worker on a fresh task queue (or `taskQueue`: a second replica of a worker), with the test activities and workflows. */
export async function createWorker(connection: NativeConnection, namespace: string, dataConverter?: DataConverter,
  taskQueue = `e2e-${randomBytes(4).toString('hex')}`): Promise<{ worker: Worker; taskQueue: string }> {
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(dataConverter ? { dataConverter } : {}),
    workflowsPath: require.resolve('./workflows/greeting'),
    activities,
  });
  return { worker, taskQueue };
}

export function client(connection: Connection, namespace: string, dataConverter?: DataConverter): Client {
  return new Client({ connection, namespace, ...(dataConverter ? { dataConverter } : {}) });
}
