import { API_METHODS, apiByName, apiMethod, WORKER_APIS } from '../../lib/authorizer/api';

// The request types of the TypeScript SDK's own protos (temporalio/api), independent of the table.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const root = require('@temporalio/proto/protos/json-module') as {
  lookupService(name: string): { methods: Record<string, { requestType: string; responseStream?: boolean }>; parent: {
    lookupType(name: string): { fields: Record<string, { id: number; type: string } | undefined> } } };
};

const SERVICES = ['temporal.api.workflowservice.v1.WorkflowService', 'temporal.api.operatorservice.v1.OperatorService'];

describe('the API table', () => {
  it('does give the same access as the server to the APIs a security review asks about first', () => {
    const level = (name: string) => [apiByName(name)?.scope, apiByName(name)?.access];
    expect(level('StartWorkflowExecution')).toEqual(['namespace', 'write']);
    expect(level('SignalWorkflowExecution')).toEqual(['namespace', 'write']);
    expect(level('DescribeWorkflowExecution')).toEqual(['namespace', 'read']);
    expect(level('ListWorkflowExecutions')).toEqual(['namespace', 'read']);
    expect(level('RegisterNamespace')).toEqual(['namespace', 'admin']);
    expect(level('DeleteNamespace')).toEqual(['namespace', 'admin']);
    expect(level('AddSearchAttributes')).toEqual(['namespace', 'admin']);
    expect(level('ListNamespaces')).toEqual(['cluster', 'read']);
    expect(level('ListClusters')).toEqual(['cluster', 'admin']);
    expect(level('PollWorkflowExecutionUpdate')).toEqual(['namespace', 'read']);
    expect(apiByName('GetSystemInfo')?.health).toBe(true);
    expect(apiMethod('/grpc.health.v1.Health/Check')?.health).toBe(true);
    expect(apiMethod('/temporal.server.api.adminservice.v1.AdminService/DescribeCluster')).toBeUndefined();
  });

  it('does read the namespace from the field the request message keeps it in', () => {
    for (const service of SERVICES) {
      const svc = root.lookupService(service);
      for (const [name, def] of Object.entries(svc.methods)) {
        const api = apiMethod(`/${service}/${name}`);
        const field = svc.parent.lookupType(def.requestType).fields.namespace;
        if (api === undefined) {
          continue;
        }
        expect([name, api.scope === 'namespace' ? api.namespaceField : undefined]).toEqual([name, field?.type === 'string' ? field.id : undefined]);
      }
    }
    expect(apiByName('RespondWorkflowTaskCompleted')?.namespaceField).toBe(9);
    expect(apiByName('RespondActivityTaskCompleted')?.namespaceField).toBe(4);
    expect(apiByName('AddSearchAttributes')?.namespaceField).toBe(2);
  });

  it('does serve every WorkflowService and OperatorService API of the SDK\'s protos, unary', () => {
    const missing = SERVICES.flatMap((service) => Object.keys(root.lookupService(service).methods)
      .filter((name) => apiMethod(`/${service}/${name}`) === undefined).map((name) => `${service}/${name}`));
    // Newer APIs the server's v1.31 table does not list: its default authorizer denies them too.
    expect(missing.map((m) => m.split('/')[1])).toEqual(['CountWorkers', 'StartNexusOperationExecution',
      'DescribeNexusOperationExecution', 'PollNexusOperationExecution', 'ListNexusOperationExecutions', 'CountNexusOperationExecutions',
      'RequestCancelNexusOperationExecution', 'PauseActivityExecution', 'ResetActivityExecution', 'UnpauseActivityExecution',
      'UpdateActivityExecutionOptions', 'TerminateNexusOperationExecution', 'DeleteNexusOperationExecution',
      'PollWorkflowExecutionTimeSkipping']);
    const streaming = SERVICES.flatMap((service) => Object.values(root.lookupService(service).methods).filter((m) => m.responseStream));
    expect(streaming).toEqual([]);
  });

  it('does mark only worker operations, and the reads a worker needs, as worker APIs', () => {
    expect(WORKER_APIS.map((n) => apiByName(n)?.access)).not.toContain('admin');
    expect(apiByName('StartWorkflowExecution')?.worker).toBe(false);
    expect(apiByName('TerminateWorkflowExecution')?.worker).toBe(false);
    expect(apiByName('PollActivityTaskQueue')?.worker).toBe(true);
    expect([...API_METHODS.values()].filter((m) => m.worker).map((m) => m.name).sort()).toEqual([...WORKER_APIS].sort());
  });
});

describe('the API table, entry by entry where the protos cannot tell', () => {
  it('does mark exactly the APIs that can name a namespace by id, with the id field', () => {
    const byId = [...API_METHODS.values()].filter((m) => m.namespaceIdField !== undefined).map((m) => [m.name, m.namespaceIdField]);
    expect(byId).toEqual([['DescribeNamespace', 2], ['DeleteNamespace', 2]]);
    expect(apiByName('StartWorkflowExecution')).not.toHaveProperty('namespaceIdField');
  });

  it('does give a namespace field to namespace APIs only', () => {
    for (const m of API_METHODS.values()) {
      expect(m.namespaceField !== undefined).toBe(m.scope === 'namespace');
    }
    expect(apiByName('GetClusterInfo')).not.toHaveProperty('namespaceField');
  });

  it('does serve the health Watch as a streaming cluster read, not a health check', () => {
    expect(apiMethod('/grpc.health.v1.Health/Watch')).toStrictEqual({ path: '/grpc.health.v1.Health/Watch', name: 'Watch', scope: 'cluster',
      access: 'read', worker: false, serverStreaming: true });
    expect(apiMethod('/grpc.health.v1.Health/Check')).toMatchObject({ health: true });
  });

  it('does look an API up by its full path exactly, or by its name', () => {
    const path = '/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution';
    expect(apiByName(path)?.name).toBe('StartWorkflowExecution');
    expect(apiByName('/other.Service/StartWorkflowExecution')).toBeUndefined();
    expect(apiByName('StartWorkflowExecution')?.path).toBe(path);
    expect(apiByName('NoSuchApi')).toBeUndefined();
  });
});
