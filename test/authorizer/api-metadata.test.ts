/**
 * The proxy's API table checked against the server's own, `common/api/metadata.go` of the server release the images
 * run, as scripts/api-metadata.mjs reads it into fixtures/server-api-metadata.json (`npm run api:metadata`). The
 * request field that holds the namespace is checked against the SDK's protos in api.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_METHODS, ApiMethod } from '../../lib/authorizer/api';
import { TEMPORAL_VERSION } from '../../lib/core/images';
import { apiLabel, CHECKED_SERVICES, FIXTURE_PATH, loadServerTable, serverTableMismatches } from './server-api-table';

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'api-metadata.mjs');
const WORKFLOW = 'temporal.api.workflowservice.v1.WorkflowService';
const OPERATOR = 'temporal.api.operatorservice.v1.OperatorService';
const ADMIN = 'temporal.server.api.adminservice.v1.AdminService';

/**
 * APIs the server's table lists for WorkflowService and OperatorService that the proxy deliberately does not serve
 * (`apiLabel` → why). Empty: the proxy serves all of them, each with the server's scope and access level.
 */
const NOT_SERVED: Readonly<Record<string, string>> = {};

const server = loadServerTable();
const ours = (): ApiMethod[] => [...API_METHODS.values()];
/** A copy of our table with one API changed. */
const changed = (name: string, change: Partial<ApiMethod>): ApiMethod[] =>
  ours().map((api) => (api.name === name ? { ...api, ...change } : api));

/** Runs the script; `source` parses that file instead of the module's metadata.go. */
function runScript(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [SCRIPT, '--print', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * `it` when go.temporal.io/server is in the Go module cache, else `it.skip` with the reason in the test's name (the
 * script would download the module; a unit test does not).
 */
function whenServerModuleCached(): { it: jest.It; note: string } {
  const go = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' });
  if (go.status !== 0) {
    return { it: it.skip, note: ' (skipped: no Go toolchain to find the module cache)' };
  }
  const file = join(go.stdout.trim(), `go.temporal.io/server@v${TEMPORAL_VERSION}`, 'common', 'api', 'metadata.go');
  return existsSync(file) ? { it, note: '' }
    : { it: it.skip, note: ` (skipped: ${file} is not in the Go module cache; npm run api:metadata downloads it)` };
}

describe('the API table against the server\'s metadata.go', () => {
  it('does give every WorkflowService and OperatorService API the server\'s scope and access level, and serve all it lists', () => {
    expect(serverTableMismatches(ours(), server, NOT_SERVED)).toEqual([]);
  });

  it('does compare every API of the two services (counted independently)', () => {
    const served = (service: string) => ours().filter((api) => api.path.startsWith(`/${service}/`)).length;
    expect([served(WORKFLOW), served(OPERATOR)]).toEqual([109, 12]);
    expect(Object.keys(server.services[WORKFLOW].methods ?? {})).toHaveLength(109);
    expect(Object.keys(server.services[OPERATOR].methods ?? {})).toHaveLength(12);
  });

  it('does serve nothing of the server\'s AdminService, which the server keeps to cluster admins', () => {
    expect(server.services[ADMIN]).toEqual({ everyMethod: { scope: 'ScopeCluster', access: 'AccessAdmin', polling: 'PollingUnknown' } });
    expect(ours().filter((api) => api.path.startsWith(`/${ADMIN}/`))).toEqual([]);
  });

  it('does keep the special APIs at the server\'s level', () => {
    const level = (name: string) => server.services[WORKFLOW].methods?.[name];
    for (const name of ['GetSystemInfo', 'GetClusterInfo', 'ListNamespaces']) {
      expect([name, level(name)?.scope, level(name)?.access]).toEqual([name, 'ScopeCluster', 'AccessReadOnly']);
      expect(ours().find((api) => api.name === name)).toMatchObject({ scope: 'cluster', access: 'read' });
    }
  });

  it('does name each API it does not serve with a reason', () => {
    for (const [label, reason] of Object.entries(NOT_SERVED)) {
      expect([label, reason.length > 20]).toEqual([label, true]);
    }
  });
});

describe('serverTableMismatches', () => {
  it('does report a write API moved to read', () => {
    expect(serverTableMismatches(changed('TerminateWorkflowExecution', { access: 'read' }), server, NOT_SERVED))
      .toEqual(['WorkflowService/TerminateWorkflowExecution: access read, the server\'s is write (AccessWrite)']);
  });

  it('does report an admin API moved to write', () => {
    expect(serverTableMismatches(changed('RemoveSearchAttributes', { access: 'write' }), server, NOT_SERVED))
      .toEqual(['OperatorService/RemoveSearchAttributes: access write, the server\'s is admin (AccessAdmin)']);
    expect(serverTableMismatches(changed('DeprecateNamespace', { access: 'write' }), server, NOT_SERVED))
      .toEqual(['WorkflowService/DeprecateNamespace: access write, the server\'s is admin (AccessAdmin)']);
  });

  it('does report a namespace API moved to the cluster scope', () => {
    expect(serverTableMismatches(changed('ListSearchAttributes', { scope: 'cluster' }), server, NOT_SERVED))
      .toEqual(['OperatorService/ListSearchAttributes: scope cluster, the server\'s is namespace (ScopeNamespace)']);
  });

  it('does report an API the server lists that is neither served nor listed as not served', () => {
    const without = ours().filter((api) => api.name !== 'PatchSchedule');
    expect(serverTableMismatches(without, server, NOT_SERVED))
      .toEqual(['WorkflowService/PatchSchedule: in the server\'s table, but neither served nor listed as not served']);
    expect(serverTableMismatches(without, server, { 'WorkflowService/PatchSchedule': 'a reason' })).toEqual([]);
  });

  it('does report a not-served entry that is served, or that the server does not list', () => {
    expect(serverTableMismatches(ours(), server, { 'WorkflowService/PatchSchedule': 'a reason', 'WorkflowService/Nope': 'a reason' }))
      .toEqual(['WorkflowService/PatchSchedule: listed as not served, but served',
        'WorkflowService/Nope: listed as not served, but not in the server\'s table']);
  });

  it('does report an API the server does not list, and any AdminService API', () => {
    const extra = (service: string, name: string): ApiMethod =>
      ({ path: `/${service}/${name}`, name, scope: 'cluster', access: 'admin', worker: false });
    expect(serverTableMismatches([...ours(), extra(WORKFLOW, 'MadeUp'), extra(ADMIN, 'DescribeCluster')], server, NOT_SERVED))
      .toEqual(['WorkflowService/MadeUp: served, but not in the server\'s table',
        `AdminService/DescribeCluster: served, but the server keeps every ${ADMIN} API to itself`]);
  });

  it('does name APIs by service and method', () => {
    expect(CHECKED_SERVICES).toEqual([WORKFLOW, OPERATOR]);
    expect(apiLabel(OPERATOR, 'ListClusters')).toBe('OperatorService/ListClusters');
  });
});

describe('the server API fixture', () => {
  it('does describe the server release the images run', () => {
    expect(server.header).toEqual({ module: 'go.temporal.io/server', version: `v${TEMPORAL_VERSION}`, source: 'common/api/metadata.go',
      generator: 'scripts/api-metadata.mjs (npm run api:metadata)' });
  });

  const cached = whenServerModuleCached();
  cached.it(`does match what the script reads from the module's metadata.go now${cached.note}`, () => {
    const run = runScript();
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toBe(readFileSync(FIXTURE_PATH, 'utf8'));
  });
});

/** A metadata.go in the shape of the server's, small enough to plant mistakes in. */
const MINIMAL = `package api

import "strings"

type (
	Scope int32
	Access int32
	Polling int32

	MethodMetadata struct {
		Scope Scope
		Access Access
		Polling Polling
	}
)

const (
	ScopeUnknown Scope = iota
	ScopeNamespace
	ScopeCluster
)

const (
	AccessUnknown Access = iota
	AccessReadOnly
	AccessWrite
	AccessAdmin
)

const (
	PollingUnknown Polling = iota
	PollingNone
)

const (
	WorkflowServicePrefix = "/temporal.api.workflowservice.v1.WorkflowService/"
	AdminServicePrefix    = "/temporal.server.api.adminservice.v1.AdminService/"
)

var (
	workflowServiceMetadata = map[string]MethodMetadata{
		"StartWorkflowExecution": {Scope: ScopeNamespace, Access: AccessWrite, Polling: PollingNone}, // a comment
		"GetSystemInfo":          {Scope: ScopeCluster, Access: AccessReadOnly},
	}
)

func GetMethodMetadata(fullApiName string) MethodMetadata {
	switch {
	case strings.HasPrefix(fullApiName, WorkflowServicePrefix):
		return workflowServiceMetadata[MethodName(fullApiName)]
	case strings.HasPrefix(fullApiName, AdminServicePrefix):
		return MethodMetadata{Scope: ScopeCluster, Access: AccessAdmin}
	default:
		return MethodMetadata{Scope: ScopeUnknown, Access: AccessUnknown}
	}
}

func MethodName(fullApiName string) string {
	index := strings.LastIndex(fullApiName, "/")
	return fullApiName[index+1:]
}
`;

describe('scripts/api-metadata.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-metadata-'));
  const parse = (source: string) => {
    const file = join(dir, 'metadata.go');
    writeFileSync(file, source);
    return runScript('--source', file);
  };
  const lineOf = (source: string, text: string) => source.split('\n').findIndex((l) => l.includes(text)) + 1;

  it('does read the maps, the services GetMethodMetadata routes to them, and zero values for fields left out', () => {
    const run = parse(MINIMAL);
    expect([run.status, run.stderr]).toEqual([0, '']);
    const table = JSON.parse(run.stdout);
    expect(table.services).toEqual({
      [WORKFLOW]: { table: 'workflowServiceMetadata', methods: {
        StartWorkflowExecution: { scope: 'ScopeNamespace', access: 'AccessWrite', polling: 'PollingNone' },
        GetSystemInfo: { scope: 'ScopeCluster', access: 'AccessReadOnly', polling: 'PollingUnknown' },
      } },
      [ADMIN]: { everyMethod: { scope: 'ScopeCluster', access: 'AccessAdmin', polling: 'PollingUnknown' } },
    });
    expect(table.unlistedServices).toEqual({ scope: 'ScopeUnknown', access: 'AccessUnknown', polling: 'PollingUnknown' });
    expect(Object.keys(table)).toEqual(['header', 'services', 'unlistedServices']);
  });

  // [what, original text, planted text, the planted line the error names, the message]
  it.each([
    ['a field the struct does not have', '"GetSystemInfo":          {Scope: ScopeCluster, Access: AccessReadOnly},',
      '"GetSystemInfo": {Scope: ScopeCluster, Access: AccessReadOnly, Health: true},', 'Health: true', 'MethodMetadata has no field Health'],
    ['a constant of the wrong type', '"GetSystemInfo":          {Scope: ScopeCluster, Access: AccessReadOnly},',
      '"GetSystemInfo": {Scope: AccessReadOnly, Access: AccessReadOnly},', 'Scope: AccessReadOnly', 'AccessReadOnly is not a Scope constant'],
    ['an entry written another way', '"GetSystemInfo":          {Scope: ScopeCluster, Access: AccessReadOnly},',
      '"GetSystemInfo": readOnlyCluster,', 'readOnlyCluster', 'expected "Method": {Field: Constant, ...},'],
    ['a method listed twice', '"GetSystemInfo":          {Scope: ScopeCluster, Access: AccessReadOnly},',
      '"StartWorkflowExecution": {Scope: ScopeNamespace, Access: AccessReadOnly},', 'Access: AccessReadOnly}',
      'StartWorkflowExecution is listed twice'],
    ['a map no service uses', 'var (', 'var (\n\textraMetadata = map[string]MethodMetadata{\n\t}', 'extraMetadata', 'extraMetadata serves no service'],
    ['a function that changes the table', 'func MethodName(', 'func init() {\n\tworkflowServiceMetadata["X"] = MethodMetadata{}\n}\n\nfunc MethodName(',
      '["X"]', 'function init uses the method table'],
    ['a case the switch does not route by prefix', 'case strings.HasPrefix(fullApiName, AdminServicePrefix):',
      'case fullApiName == "x":', '== "x"', 'expected case strings.HasPrefix'],
    ['a top-level declaration it does not know', 'func MethodName(', 'var x = 1\n\nfunc MethodName(', 'var x', 'expected name = map[string]MethodMetadata{'],
    ['a raw string', 'import "strings"', 'import `strings`', '`strings`', 'raw string literals are not understood'],
  ])('fails, naming the line, on %s', (_what, original, planted, at, message) => {
    expect(MINIMAL).toContain(original);
    const source = MINIMAL.replace(original, planted);
    const run = parse(source);
    expect([run.status, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain(`metadata.go:${lineOf(source, at)}: `);
  });
});
