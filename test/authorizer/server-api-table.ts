/**
 * The Temporal server's own API table (`common/api/metadata.go`, as scripts/api-metadata.mjs writes it to
 * fixtures/server-api-metadata.json) and a pure comparison of the proxy's table with it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiAccess, ApiMethod, ApiScope } from '../../lib/authorizer/api';

/** One API in the server's table, in the server's own constant names (`ScopeNamespace`, `AccessReadOnly`, `PollingNone`). */
export interface ServerMethod {
  readonly scope: string;
  readonly access: string;
  readonly polling: string;
}

/** What GetMethodMetadata answers for one service: per method from a map, or one answer for every method. */
export interface ServerService {
  /** The Go map the methods come from (`workflowServiceMetadata`). */
  readonly table?: string;
  readonly methods?: Readonly<Record<string, ServerMethod>>;
  /** The answer for every method of the service (AdminService: cluster, admin). */
  readonly everyMethod?: ServerMethod;
}

/** The fixture. */
export interface ServerApiTable {
  readonly header: { readonly module: string; readonly version: string; readonly source: string; readonly generator: string };
  /** By full gRPC service name (`temporal.api.workflowservice.v1.WorkflowService`). */
  readonly services: Readonly<Record<string, ServerService>>;
  /** The answer for a service GetMethodMetadata does not know. */
  readonly unlistedServices: ServerMethod;
}

export const FIXTURE_PATH = join(__dirname, 'fixtures', 'server-api-metadata.json');

/** The committed fixture. */
export function loadServerTable(): ServerApiTable {
  return JSON.parse(readFileSync(FIXTURE_PATH, 'utf8')) as ServerApiTable;
}

/** The server's scope constants, in the proxy's words. */
export const SERVER_SCOPES: Readonly<Record<string, ApiScope>> = { ScopeNamespace: 'namespace', ScopeCluster: 'cluster' };

/** The server's access constants, in the proxy's words. */
export const SERVER_ACCESS: Readonly<Record<string, ApiAccess>> = { AccessReadOnly: 'read', AccessWrite: 'write', AccessAdmin: 'admin' };

/** The services whose every API the proxy serves with the server's scope and access level. */
export const CHECKED_SERVICES: readonly string[] = [
  'temporal.api.workflowservice.v1.WorkflowService',
  'temporal.api.operatorservice.v1.OperatorService',
];

/** `WorkflowService/StartWorkflowExecution`: how mismatches and the not-served list name an API. */
export function apiLabel(service: string, name: string): string {
  return `${service.split('.').pop()}/${name}`;
}

/**
 * Every way `ours` disagrees with the server's table, one line each (empty when they agree):
 * - an API of a checked service with another scope or access level than the server's, or one the server does not list;
 * - an API the server lists for a checked service that `ours` does not serve and `notServed` does not name (by
 *   `apiLabel`), or one `notServed` names that is served after all or that the server does not list;
 * - any API of a service the server answers as a whole (its AdminService: for the cluster's operators, not for callers
 *   through the proxy).
 */
export function serverTableMismatches(ours: Iterable<ApiMethod>, server: ServerApiTable,
  notServed: Readonly<Record<string, string>> = {}): string[] {
  const mismatches: string[] = [];
  const paths = new Set<string>();
  for (const api of ours) {
    paths.add(api.path);
    const [service, name] = api.path.slice(1).split('/');
    const label = apiLabel(service, name);
    if (server.services[service]?.everyMethod !== undefined) {
      mismatches.push(`${label}: served, but the server keeps every ${service} API to itself`);
      continue;
    }
    if (!CHECKED_SERVICES.includes(service)) {
      continue;
    }
    const theirs = server.services[service]?.methods?.[name];
    if (theirs === undefined) {
      mismatches.push(`${label}: served, but not in the server's table`);
      continue;
    }
    const scope = SERVER_SCOPES[theirs.scope];
    const access = SERVER_ACCESS[theirs.access];
    if (api.scope !== scope) {
      mismatches.push(`${label}: scope ${api.scope}, the server's is ${scope ?? 'unknown'} (${theirs.scope})`);
    }
    if (api.access !== access) {
      mismatches.push(`${label}: access ${api.access}, the server's is ${access ?? 'unknown'} (${theirs.access})`);
    }
  }
  const listed = new Set<string>();
  for (const service of CHECKED_SERVICES) {
    const methods = server.services[service]?.methods;
    if (methods === undefined) {
      mismatches.push(`${service}: the server's table lists no methods for it`);
      continue;
    }
    for (const name of Object.keys(methods)) {
      const label = apiLabel(service, name);
      const served = paths.has(`/${service}/${name}`);
      listed.add(label);
      if (!served && notServed[label] === undefined) {
        mismatches.push(`${label}: in the server's table, but neither served nor listed as not served`);
      } else if (served && notServed[label] !== undefined) {
        mismatches.push(`${label}: listed as not served, but served`);
      }
    }
  }
  for (const label of Object.keys(notServed).filter((l) => !listed.has(l))) {
    mismatches.push(`${label}: listed as not served, but not in the server's table`);
  }
  return mismatches;
}
