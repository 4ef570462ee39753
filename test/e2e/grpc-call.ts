/**
 * One raw gRPC call with exactly the credentials a test chooses (a client certificate or none, a bearer token or
 * none, any metadata), to see the exact status and details a caller gets. Requests are encoded with the SDK's own
 * protos; the answer's bytes are returned undecoded.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { Client, credentials, Metadata, ServiceError } from '@grpc/grpc-js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const proto = require('@temporalio/proto') as {
  temporal: { api: Record<string, Record<string, Record<string, {
    encode(m: object): { finish(): Uint8Array };
    decode(b: Uint8Array): object;
  }>>> };
};

export const WORKFLOW_SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';
export const OPERATOR_SERVICE = 'temporal.api.operatorservice.v1.OperatorService';

/** A request message of the WorkflowService (or OperatorService), encoded. */
export function encode(type: string, fields: object, service: 'workflowservice' | 'operatorservice' = 'workflowservice'): Buffer {
  return Buffer.from(proto.temporal.api[service].v1[type].encode(fields).finish());
}

/** A response message of the WorkflowService, decoded (`PollWorkflowTaskQueueResponse`). */
export function decode<T>(type: string, bytes: Buffer): T {
  return proto.temporal.api.workflowservice.v1[type].decode(bytes) as T;
}

const SERVICES: Readonly<Record<string, string>> = { WorkflowService: WORKFLOW_SERVICE, OperatorService: OPERATOR_SERVICE };

/** `StartWorkflowExecution` (WorkflowService), `OperatorService/ListClusters`, or a full path. */
function methodPath(method: string): string {
  if (method.startsWith('/')) {
    return method;
  }
  const [service, name] = method.includes('/') ? method.split('/') : ['WorkflowService', method];
  return `/${SERVICES[service] ?? service}/${name}`;
}

export interface CallTarget {
  /** `host:port` */
  readonly address: string;
  readonly serverName: string;
  /** PEM file of the CA that verifies the server. */
  readonly caFile: string;
}

export interface CallCredentials {
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string;
  /** More metadata (e.g. `temporal-namespace`). */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface CallOutcome {
  /** 0 (OK) or the gRPC status code. */
  readonly code: number;
  readonly details: string;
  readonly response?: Buffer;
}

/** A gRPC client for `target` with `creds` (the caller closes it). */
export function grpcClient(target: CallTarget, creds: CallCredentials = {}): Client {
  const context = createSecureContext({
    ca: readFileSync(target.caFile),
    cert: creds.certFile ? readFileSync(creds.certFile) : undefined,
    key: creds.keyFile ? readFileSync(creds.keyFile) : undefined,
    // The anchor is an intermediate (the frontend CA): see workload.ts.
    allowPartialTrustChain: true,
  });
  return new Client(target.address, credentials.createFromSecureContext(context), {
    'grpc.ssl_target_name_override': target.serverName,
    'grpc.default_authority': target.serverName,
  });
}

function metadataOf(creds: CallCredentials): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(creds.metadata ?? {})) {
    metadata.set(key, value);
  }
  if (creds.token !== undefined) {
    metadata.set('authorization', `Bearer ${creds.token}`);
  }
  return metadata;
}

/** Calls `method` (see methodPath) once, on `client` or on a fresh one closed afterwards. */
export async function grpcCall(target: CallTarget | Client, creds: CallCredentials, method: string, request: Buffer,
  deadlineMs = 15_000): Promise<CallOutcome> {
  const client = target instanceof Client ? target : grpcClient(target, creds);
  try {
    const { code, details, response } = await startUnary(client, creds, method, request, deadlineMs).outcome;
    return response === undefined ? { code, details } : { code, details, response };
  } finally {
    if (!(target instanceof Client)) {
      client.close();
    }
  }
}

/** A call under way: its outcome (with the time it took) and how to cancel it, as a caller that gives up would. */
export interface CallUnderWay {
  readonly outcome: Promise<CallOutcome & { readonly elapsedMs: number }>;
  cancel(): void;
}

/** Starts a unary call of `method` on `client`. */
export function startUnary(client: Client, creds: CallCredentials, method: string, request: Buffer, deadlineMs: number): CallUnderWay {
  const started = performance.now();
  let cancel = (): void => undefined;
  const outcome = new Promise<CallOutcome & { elapsedMs: number }>((resolve) => {
    const call = client.makeUnaryRequest(methodPath(method), (b: Buffer) => b, (b: Buffer) => b, request, metadataOf(creds),
      { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, response?: Buffer) => {
        const elapsedMs = performance.now() - started;
        resolve(err ? { code: err.code, details: err.details, elapsedMs } : { code: 0, details: '', response, elapsedMs });
      });
    cancel = () => call.cancel();
  });
  return { outcome, cancel };
}

/** A server-streaming call under way: the messages so far, a promise of the first, its outcome, and how to cancel it. */
export interface StreamUnderWay extends CallUnderWay {
  readonly messages: Buffer[];
  readonly first: Promise<Buffer>;
}

/** Starts a server-streaming call of `method` (e.g. `/grpc.health.v1.Health/Watch`) on `client`. */
export function startServerStream(client: Client, creds: CallCredentials, method: string, request: Buffer, deadlineMs: number):
  StreamUnderWay {
  const started = performance.now();
  const messages: Buffer[] = [];
  const call = client.makeServerStreamRequest(methodPath(method), (b: Buffer) => b, (b: Buffer) => b, request, metadataOf(creds),
    { deadline: Date.now() + deadlineMs });
  const first = new Promise<Buffer>((resolve, reject) => {
    call.once('data', resolve);
    call.once('error', reject);
  });
  // The outcome is the status (grpc-js emits 'error' for any status but OK, then 'status'; 'status' alone for OK).
  const outcome = new Promise<CallOutcome & { elapsedMs: number }>((resolve) => {
    call.on('error', () => undefined);
    call.on('status', (status: { code: number; details: string }) =>
      resolve({ code: status.code, details: status.details, elapsedMs: performance.now() - started }));
  });
  call.on('data', (m: Buffer) => messages.push(m));
  first.catch(() => undefined);
  return { outcome, messages, first, cancel: () => call.cancel() };
}
