/**
 * The Temporal APIs the authorizer proxy serves, and what each one needs: the same scope and access level
 * as the server's own table (Temporal server v1.31 `common/api/metadata.go`), so that the proxy and the
 * server's default authorizer agree, plus which APIs a worker needs and where the request message keeps its
 * namespace. Pure data and functions: the proxy's runtime imports this module.
 */

/** What an API call touches: one namespace, or the whole cluster (`temporal-system` grants). */
export type ApiScope = 'namespace' | 'cluster';

/** The access level an API needs (the server's `AccessReadOnly`, `AccessWrite`, `AccessAdmin`). */
export type ApiAccess = 'read' | 'write' | 'admin';

/** One API, as the proxy routes and authorizes it. */
export interface ApiMethod {
  /** The gRPC method path, e.g. `/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution`. */
  readonly path: string;
  /** The method name, e.g. `StartWorkflowExecution`. */
  readonly name: string;
  readonly scope: ApiScope;
  readonly access: ApiAccess;
  /** Part of what a worker does (polls, task completions, heartbeats, the history it replays). */
  readonly worker: boolean;
  /** Field number of the request's `namespace` string (namespace-scoped APIs). */
  readonly namespaceField?: number;
  /**
   * Field number of a request field that names the namespace by id instead (`DescribeNamespaceRequest.id`,
   * `DeleteNamespaceRequest.namespace_id`). The proxy decides on names only, so it refuses a call that sets it: the
   * server's authorizer sees no namespace name for such a call, and its persistence alone would settle a call naming both.
   */
  readonly namespaceIdField?: number;
  /** Always allowed, with or without credentials: health checks that reveal nothing (as on the server). */
  readonly health?: boolean;
  /** The response is a stream (grpc.health.v1.Health/Watch); everything else is unary. */
  readonly serverStreaming?: boolean;
  /**
   * A cluster read that every caller with a role somewhere may make (what the Web UI needs to start for a person
   * with a role in one namespace): `GetClusterInfo`, and `ListNamespaces`, whose answer the proxy narrows to the
   * namespaces the caller holds a role in (`filtered`). On the server these need `temporal-system:read`, which the
   * proxy's token then carries for that one call.
   */
  readonly anyGranted?: 'as-is' | 'filtered';
}

export const WORKFLOW_SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';
export const OPERATOR_SERVICE = 'temporal.api.operatorservice.v1.OperatorService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

// Namespace-scoped APIs by access level. The namespace is request field 1 unless NAMESPACE_FIELDS says otherwise.
const WORKFLOW_READ = [
  'DescribeNamespace', 'GetWorkflowExecutionHistory', 'GetWorkflowExecutionHistoryReverse', 'CountActivityExecutions',
  'DescribeActivityExecution', 'PollActivityExecution', 'ListActivityExecutions', 'ListOpenWorkflowExecutions',
  'ListClosedWorkflowExecutions', 'ListWorkflowExecutions', 'ListArchivedWorkflowExecutions', 'ScanWorkflowExecutions',
  'CountWorkflowExecutions', 'QueryWorkflow', 'DescribeWorkflowExecution', 'DescribeTaskQueue', 'ListTaskQueuePartitions',
  'DescribeSchedule', 'ListScheduleMatchingTimes', 'ListSchedules', 'CountSchedules', 'GetWorkerBuildIdCompatibility',
  'GetWorkerVersioningRules', 'GetWorkerTaskReachability', 'PollWorkflowExecutionUpdate', 'DescribeBatchOperation',
  'ListBatchOperations', 'DescribeDeployment', 'ListDeployments', 'GetDeploymentReachability', 'GetCurrentDeployment',
  'DescribeWorkerDeploymentVersion', 'DescribeWorkerDeployment', 'ValidateWorkerDeploymentVersionComputeConfig',
  'ListWorkerDeployments', 'DescribeWorkflowRule', 'ListWorkflowRules', 'ListWorkers', 'DescribeWorker', 'FetchWorkerConfig',
];
const WORKFLOW_WRITE = [
  'StartWorkflowExecution', 'PollWorkflowTaskQueue', 'RespondWorkflowTaskCompleted', 'RespondWorkflowTaskFailed',
  'PollActivityTaskQueue', 'RecordActivityTaskHeartbeat', 'RecordActivityTaskHeartbeatById', 'RespondActivityTaskCompleted',
  'RespondActivityTaskCompletedById', 'RespondActivityTaskFailed', 'RespondActivityTaskFailedById', 'RespondActivityTaskCanceled',
  'RespondActivityTaskCanceledById', 'DeleteActivityExecution', 'RequestCancelActivityExecution', 'StartActivityExecution',
  'TerminateActivityExecution', 'PollNexusTaskQueue', 'RespondNexusTaskCompleted', 'RespondNexusTaskFailed',
  'RequestCancelWorkflowExecution', 'SignalWorkflowExecution', 'SignalWithStartWorkflowExecution', 'ResetWorkflowExecution',
  'TerminateWorkflowExecution', 'DeleteWorkflowExecution', 'RespondQueryTaskCompleted', 'ResetStickyTaskQueue', 'ShutdownWorker',
  'ExecuteMultiOperation', 'CreateSchedule', 'UpdateSchedule', 'PatchSchedule', 'DeleteSchedule', 'UpdateWorkerBuildIdCompatibility',
  'UpdateWorkerVersioningRules', 'UpdateWorkflowExecution', 'StartBatchOperation', 'StopBatchOperation', 'UpdateActivityOptions',
  'PauseActivity', 'UnpauseActivity', 'ResetActivity', 'UpdateWorkflowExecutionOptions', 'SetCurrentDeployment',
  'SetWorkerDeploymentCurrentVersion', 'SetWorkerDeploymentRampingVersion', 'SetWorkerDeploymentManager', 'CreateWorkerDeployment',
  'DeleteWorkerDeployment', 'CreateWorkerDeploymentVersion', 'UpdateWorkerDeploymentVersionComputeConfig',
  'DeleteWorkerDeploymentVersion', 'UpdateWorkerDeploymentVersionMetadata', 'CreateWorkflowRule', 'DeleteWorkflowRule',
  'TriggerWorkflowRule', 'RecordWorkerHeartbeat', 'UpdateTaskQueueConfig', 'UpdateWorkerConfig', 'PauseWorkflowExecution',
  'UnpauseWorkflowExecution',
];
const WORKFLOW_ADMIN = ['RegisterNamespace', 'UpdateNamespace', 'DeprecateNamespace'];
const WORKFLOW_CLUSTER_READ = ['ListNamespaces', 'GetSearchAttributes', 'GetClusterInfo', 'GetSystemInfo'];
const OPERATOR_NAMESPACE: readonly (readonly [string, ApiAccess])[] = [
  ['AddSearchAttributes', 'admin'], ['RemoveSearchAttributes', 'admin'], ['ListSearchAttributes', 'read'],
  ['DeleteNamespace', 'admin'],
];
const OPERATOR_CLUSTER_ADMIN = [
  'AddOrUpdateRemoteCluster', 'RemoveRemoteCluster', 'ListClusters', 'CreateNexusEndpoint', 'UpdateNexusEndpoint',
  'DeleteNexusEndpoint', 'GetNexusEndpoint', 'ListNexusEndpoints',
];

/** Request messages whose `namespace` is not field 1 (temporalio/api request_response.proto). */
const NAMESPACE_FIELDS: Readonly<Record<string, number>> = {
  RespondWorkflowTaskCompleted: 9,
  RespondWorkflowTaskFailed: 6,
  RecordActivityTaskHeartbeat: 4,
  RespondActivityTaskCompleted: 4,
  RespondActivityTaskFailed: 4,
  RespondActivityTaskCanceled: 4,
  RespondQueryTaskCompleted: 6,
  AddSearchAttributes: 2,
  RemoveSearchAttributes: 2,
};

/**
 * What a worker does: poll, complete and fail tasks, heartbeat, answer queries, replay history, announce
 * and stop itself. The server has no worker-only level (its `worker` role is below `read`); the proxy grants
 * exactly these to a `worker` grant.
 */
export const WORKER_APIS: readonly string[] = [
  'PollWorkflowTaskQueue', 'RespondWorkflowTaskCompleted', 'RespondWorkflowTaskFailed', 'PollActivityTaskQueue',
  'RecordActivityTaskHeartbeat', 'RecordActivityTaskHeartbeatById', 'RespondActivityTaskCompleted', 'RespondActivityTaskCompletedById',
  'RespondActivityTaskFailed', 'RespondActivityTaskFailedById', 'RespondActivityTaskCanceled', 'RespondActivityTaskCanceledById',
  'PollNexusTaskQueue', 'RespondNexusTaskCompleted', 'RespondNexusTaskFailed', 'RespondQueryTaskCompleted', 'ResetStickyTaskQueue',
  'ShutdownWorker', 'RecordWorkerHeartbeat', 'FetchWorkerConfig', 'GetWorkflowExecutionHistory', 'DescribeNamespace',
];

/** Request messages that can name their namespace by id (temporalio/api request_response.proto). */
const NAMESPACE_ID_FIELDS: Readonly<Record<string, number>> = {
  DescribeNamespace: 2,
  DeleteNamespace: 2,
};

function method(service: string, name: string, scope: ApiScope, access: ApiAccess): ApiMethod {
  return {
    path: `/${service}/${name}`,
    name,
    scope,
    access,
    worker: WORKER_APIS.includes(name),
    ...(scope === 'namespace' ? { namespaceField: NAMESPACE_FIELDS[name] ?? 1 } : {}),
    ...(NAMESPACE_ID_FIELDS[name] !== undefined ? { namespaceIdField: NAMESPACE_ID_FIELDS[name] } : {}),
  };
}

/** Every API the proxy serves, by path. Anything else is not served (UNIMPLEMENTED): denied, as on the server. */
export const API_METHODS: ReadonlyMap<string, ApiMethod> = new Map([
  ...WORKFLOW_READ.map((n) => method(WORKFLOW_SERVICE, n, 'namespace', 'read')),
  ...WORKFLOW_WRITE.map((n) => method(WORKFLOW_SERVICE, n, 'namespace', 'write')),
  ...WORKFLOW_ADMIN.map((n) => method(WORKFLOW_SERVICE, n, 'namespace', 'admin')),
  ...WORKFLOW_CLUSTER_READ.map((n) => ({ ...method(WORKFLOW_SERVICE, n, 'cluster', 'read'), ...(n === 'GetSystemInfo' ? { health: true } : {}),
    ...(n === 'GetClusterInfo' ? { anyGranted: 'as-is' as const } : n === 'ListNamespaces' ? { anyGranted: 'filtered' as const } : {}) })),
  ...OPERATOR_NAMESPACE.map(([n, access]) => method(OPERATOR_SERVICE, n, 'namespace', access)),
  ...OPERATOR_CLUSTER_ADMIN.map((n) => method(OPERATOR_SERVICE, n, 'cluster', 'admin')),
  { path: `/${HEALTH_SERVICE}/Check`, name: 'Check', scope: 'cluster' as const, access: 'read' as const, worker: false, health: true },
  // Not a health check on the server (its interceptor knows only Check and GetSystemInfo): a cluster read here.
  { path: `/${HEALTH_SERVICE}/Watch`, name: 'Watch', scope: 'cluster' as const, access: 'read' as const, worker: false,
    serverStreaming: true },
].map((m) => [m.path, m] as const));

/** The API at `path`, or undefined when the proxy does not serve it. */
export function apiMethod(path: string): ApiMethod | undefined {
  return API_METHODS.get(path);
}

/** The API named `name` (`StartWorkflowExecution`) or at a full path; undefined when unknown. */
export function apiByName(name: string): ApiMethod | undefined {
  if (name.startsWith('/')) {
    return API_METHODS.get(name);
  }
  return [...API_METHODS.values()].find((m) => m.name === name);
}
