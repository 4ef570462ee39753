/**
 * The authorization policy to the letter: every refusal of validatePolicy with its full message (path, problem, value
 * and fix), the edges of every limit, and the exact decisions, reasons and minted permissions of the model.
 */
import { apiByName, ApiMethod, WORKER_APIS, WORKFLOW_SERVICE } from '../../lib/authorizer/api';
import {
  authorize, CertificateIdentity, grantsOf, JwtIdentity, parsePermissions, permissionsFor, ruleMatches, validatePolicy,
} from '../../lib/authorizer/policy';
import { ValidationError } from '../../lib/core/errors';

const api = (name: string): ApiMethod => apiByName(name) as ApiMethod;
const RULE = { name: 'r', certificate: { uri: 'spiffe://x/ns/a/temporal-client/b' }, grants: { a: 'read' } };
const cert = (extra: Partial<CertificateIdentity> = {}): CertificateIdentity => ({ kind: 'certificate', uris: [], dnsNames: [],
  organizations: [], organizationalUnits: [], ...extra });
const jwt = (extra: Partial<JwtIdentity> = {}): JwtIdentity => ({ kind: 'jwt', issuer: 'https://idp', subject: 's', groups: [], permissions: [],
  ...extra });

/** The message of what validatePolicy throws, or 'accepted'. */
function refusal(policy: unknown): string {
  try {
    validatePolicy('policy', policy);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return `${(e as ValidationError).code} ${(e as Error).message}`;
  }
  return 'accepted';
}
const rules = (...list: unknown[]) => ({ rules: list });

describe('validatePolicy, each refusal to the letter', () => {
  test('the policy itself', () => {
    const fix = 'Fix: write { rules: [ { name, certificate | jwt, grants } ] }';
    expect(refusal(null)).toBe(`INVALID_POLICY policy: the policy must be an object with a rules array (got null). ${fix}`);
    expect(refusal(undefined)).toBe(`INVALID_POLICY policy: the policy must be an object with a rules array (got nothing). ${fix}`);
    expect(refusal(7)).toBe(`INVALID_POLICY policy: the policy must be an object with a rules array (got 7). ${fix}`);
    expect(refusal('rules')).toBe(`INVALID_POLICY policy: the policy must be an object with a rules array (got "rules"). ${fix}`);
    expect(refusal({ rules: {} })).toBe(`INVALID_POLICY policy: the policy must be an object with a rules array (got {"rules":{}}). ${fix}`);
    expect(refusal({ rules: [] })).toBe('accepted');
  });

  test('the claim settings: a claim name of up to 100 characters, or false for the permissions claim only', () => {
    const bad = (field: string, got: string) => `INVALID_POLICY policy/${field}: ${field} must be a claim name (got ${got}). ` +
      'Fix: use e.g. "permissions" or "groups"';
    expect(refusal({ rules: [], jwtPermissionsClaim: 'p'.repeat(100), jwtGroupsClaim: 'https://example.com/groups:a_b.c-d' })).toBe('accepted');
    expect(refusal({ rules: [], jwtPermissionsClaim: false })).toBe('accepted');
    expect(refusal({ rules: [], jwtPermissionsClaim: 'p'.repeat(101) })).toBe(bad('jwtPermissionsClaim', JSON.stringify('p'.repeat(101))));
    for (const value of ['has space', ' groups', 'groups ', '']) {
      expect(refusal({ rules: [], jwtGroupsClaim: value })).toBe(bad('jwtGroupsClaim', JSON.stringify(value)));
    }
    expect(refusal({ rules: [], jwtGroupsClaim: 5 })).toBe(bad('jwtGroupsClaim', '5'));
    expect(refusal({ rules: [], jwtPermissionsClaim: true })).toBe(bad('jwtPermissionsClaim', 'true'));
    expect(refusal({ rules: [], jwtGroupsClaim: false })).toBe('INVALID_POLICY policy/jwtGroupsClaim: jwtGroupsClaim must be a claim name ' +
      '(got false). Fix: leave it unset for "groups"');
  });

  test('a rule that is not an object', () => {
    for (const [rule, got] of [[null, 'null'], ['r', '"r"'], [[], '[]']] as const) {
      expect(refusal(rules(rule))).toBe(`INVALID_POLICY policy/rules[0]: a rule must be an object (got ${got}). ` +
        'Fix: write { name, certificate | jwt | apiKey, grants }');
    }
  });

  test('names: 1-100 characters, starting with a letter or digit; one rule per name', () => {
    const bad = (got: string) => `INVALID_POLICY policy/rules[0]: name must be 1-100 letters, digits, ".", "_", ":", "/" or "-" (got ${got}). ` +
      'Fix: name the rule, e.g. "orders-workers"';
    expect(refusal(rules({ ...RULE, name: `a${'-._:/9'.repeat(16)}bcd` }))).toBe('accepted');
    for (const name of ['-r', ' r', 'r ', 'r!', '', `a${'b'.repeat(100)}`]) {
      expect(refusal(rules({ ...RULE, name }))).toBe(bad(JSON.stringify(name)));
    }
    expect(refusal(rules({ ...RULE, name: 7 }))).toBe(bad('7'));
    expect(refusal(rules(RULE, { ...RULE }))).toBe('INVALID_POLICY policy/rules[1]: two rules share a name (got "r"). ' +
      'Fix: give every rule its own name (it identifies the rule in the audit log)');
  });

  test('one kind of match, an object with at least one field', () => {
    expect(refusal(rules({ name: 'r', grants: { a: 'read' } }))).toBe('INVALID_POLICY policy/rules[0]: a rule matches one kind of caller: ' +
      'a certificate, a JWT or an API key (got []). Fix: set exactly one of certificate: {...}, jwt: {...} or apiKey: {...}');
    expect(refusal(rules({ ...RULE, apiKey: { owner: 'o' } }))).toBe('INVALID_POLICY policy/rules[0]: a rule matches one kind of caller: ' +
      'a certificate, a JWT or an API key (got ["certificate","apiKey"]). Fix: set exactly one of certificate: {...}, jwt: {...} or apiKey: {...}');
    expect(refusal(rules({ ...RULE, certificate: null }))).toBe('INVALID_POLICY policy/rules[0]/certificate: certificate must be an object of ' +
      'match fields (got null). Fix: e.g. certificate: { uri: "..." }');
    expect(refusal(rules({ name: 'r', jwt: ['s'], grants: { a: 'read' } }))).toBe('INVALID_POLICY policy/rules[0]/jwt: jwt must be an object of ' +
      'match fields (got ["s"]). Fix: e.g. jwt: { subject: "..." }');
    expect(refusal(rules({ name: 'r', apiKey: 'ci', grants: { a: 'read' } }))).toBe('INVALID_POLICY policy/rules[0]/apiKey: apiKey must be an ' +
      'object of match fields (got "ci"). Fix: e.g. apiKey: { id: "..." }');
    // A field given as undefined is no field.
    expect(refusal(rules({ ...RULE, certificate: { uri: undefined } }))).toBe('INVALID_POLICY policy/rules[0]/certificate: the match has no ' +
      'field, so it would match every caller (got {}). Fix: match at least one of uri, dnsName, commonName, organization, organizationalUnit, ' +
      'e.g. { uri: "spiffe://cluster.local/ns/orders/temporal-client/*" }');
  });

  test('match values: 1-512 characters, not only "*"', () => {
    const bad = (got: string) => 'INVALID_POLICY policy/rules[0]/certificate/commonName: commonName must be a non-empty string that is not only "*" ' +
      `(got ${got}). Fix: name the value, with "*" for a varying part at most`;
    expect(refusal(rules({ ...RULE, certificate: { commonName: 'c'.repeat(512) } }))).toBe('accepted');
    expect(refusal(rules({ ...RULE, certificate: { commonName: '*c*' } }))).toBe('accepted');
    for (const value of ['', '*', '***', 'c'.repeat(513)]) {
      expect(refusal(rules({ ...RULE, certificate: { commonName: value } }))).toBe(bad(JSON.stringify(value)));
    }
    expect(refusal(rules({ ...RULE, certificate: { commonName: 1 } }))).toBe(bad('1'));
  });

  test('grants: namespaces to one role or a non-empty list of roles', () => {
    const notMap = (got: string) => `INVALID_POLICY policy/rules[0]/grants: grants must map namespaces to roles (got ${got}). ` +
      'Fix: e.g. grants: { orders: "write" }';
    expect(refusal(rules({ ...RULE, grants: null }))).toBe(notMap('null'));
    expect(refusal(rules({ ...RULE, grants: ['a'] }))).toBe(notMap('["a"]'));
    expect(refusal(rules({ ...RULE, grants: 'a' }))).toBe(notMap('"a"'));
    const badRole = (got: string) => `INVALID_POLICY policy/rules[0]/grants/a: a role must be one of read, worker, write, admin (got ${got}). ` +
      'Fix: e.g. "write" or ["read", "worker"]';
    expect(refusal(rules({ ...RULE, grants: { a: ['read', 'worker', 'write', 'admin'], 'temporal-system': 'read' } }))).toBe('accepted');
    expect(refusal(rules({ ...RULE, grants: { a: [] } }))).toBe(badRole('[]'));
    expect(refusal(rules({ ...RULE, grants: { a: ['read', 'boss'] } }))).toBe(badRole('["read","boss"]'));
    expect(refusal(rules({ ...RULE, grants: { a: 3 } }))).toBe(badRole('3'));
    expect(refusal(rules({ ...RULE, grants: { 'no space': 'read' } }))).toMatch(/^INVALID_NAMESPACE policy\/rules\[0\]\/grants: a Temporal namespace/);
  });

  test('denyApis: a list of the APIs the proxy serves, by name or full path', () => {
    expect(refusal(rules({ ...RULE, denyApis: ['TerminateWorkflowExecution', `/${WORKFLOW_SERVICE}/ResetWorkflowExecution`] }))).toBe('accepted');
    expect(refusal(rules({ ...RULE, denyApis: 'TerminateWorkflowExecution' }))).toBe('INVALID_POLICY policy/rules[0]/denyApis: denyApis must ' +
      'be a list of API names (got "TerminateWorkflowExecution"). Fix: e.g. ["TerminateWorkflowExecution"]');
    for (const [value, got] of [[5, '5'], ['DropEverything', '"DropEverything"']] as const) {
      expect(refusal(rules({ ...RULE, denyApis: [value] }))).toBe('INVALID_POLICY policy/rules[0]/denyApis: denyApis names an API the proxy ' +
        `does not serve (got ${got}). Fix: use a WorkflowService or OperatorService method name, e.g. "TerminateWorkflowExecution"`);
    }
  });

  test('an unknown key names the closest known one when it is near enough', () => {
    const hint = (policy: unknown) => / did you mean "([^"]+)"\?/.exec(refusal(policy))?.[1];
    // Near enough: at most max(2, a third of the known key's length) edits.
    expect(hint(rules({ ...RULE, denyAp: [] }))).toBe('denyApis');
    expect(hint(rules({ ...RULE, deny: [] }))).toBeUndefined();
    expect(hint({ rules: [], jwtPermissionsClaimXYZ: 'p' })).toBe('jwtPermissionsClaim');
    expect(hint({ rules: [], jwtPermissionsClaimWXYZABC: 'p' })).toBeUndefined();
  });
});

describe('the model, exactly', () => {
  test('Temporal permissions: namespace:role, the last colon splits, a namespace and a known role are needed', () => {
    expect(parsePermissions(['orders:admin', 'a:b:read', ':admin', 'admin', 'orders:boss', 5, 'orders:'])).toEqual([['orders', 'admin'], ['a:b', 'read']]);
  });

  test('a pattern matches a value the identity has; an absent value matches nothing', () => {
    const rule = validatePolicy('p', rules({ name: 'r', certificate: { commonName: 'und*' }, grants: { a: 'read' } })).rules[0];
    expect(ruleMatches(rule, cert({ commonName: 'undo' }))).toBe(true);
    expect(ruleMatches(rule, cert())).toBe(false);
    expect(ruleMatches(rule, cert({ commonName: 'x/undo' }))).toBe(false);
    // A field given as undefined is no field: the others decide.
    const partial = validatePolicy('p', rules({ name: 'r', certificate: { commonName: 'c', uri: undefined }, grants: { a: 'read' } })).rules[0];
    expect(ruleMatches(partial, cert({ commonName: 'c' }))).toBe(true);
    expect(ruleMatches(partial, cert({ commonName: 'd' }))).toBe(false);
  });

  test('grants: denied APIs by name, whether the rule named them or their path; nothing denied by a rule without denyApis', () => {
    const policy = validatePolicy('p', rules(
      { name: 'w', certificate: { commonName: 'w' }, grants: { a: 'write' }, denyApis: [`/${WORKFLOW_SERVICE}/TerminateWorkflowExecution`] },
      { name: 'r', certificate: { commonName: 'r' }, grants: { a: 'read' } },
    ));
    const writer = grantsOf(policy, cert({ commonName: 'w' }));
    expect(writer.deniedApis).toEqual(new Set(['TerminateWorkflowExecution']));
    expect(authorize(writer, api('TerminateWorkflowExecution'), 'a')).toEqual({ allow: false,
      reason: 'TerminateWorkflowExecution is denied to this identity' });
    expect(grantsOf(policy, cert({ commonName: 'r' }))).toEqual({ roles: new Map([['a', new Set(['read'])]]), deniedApis: new Set(), rules: ['r'] });
  });

  test('grants: the permissions claim is named among the rules only when it granted something', () => {
    const policy = validatePolicy('p', { rules: [], jwtPermissionsClaim: 'permissions' });
    expect(grantsOf(policy, jwt({ permissions: [] })).rules).toEqual([]);
    expect(grantsOf(policy, jwt({ permissions: ['orders:read'] })).rules).toEqual(['jwt:permissions']);
  });

  test('the worker role permits the worker APIs only, none of which is an admin API', () => {
    const grants = { roles: new Map([['a', new Set(['worker'] as const)]]), deniedApis: new Set<string>(), rules: [] };
    expect(authorize(grants, api('PollWorkflowTaskQueue'), 'a').allow).toBe(true);
    for (const name of ['StartWorkflowExecution', 'TerminateWorkflowExecution', 'DescribeSchedule', 'UpdateNamespace']) {
      expect([name, authorize(grants, api(name), 'a').allow]).toEqual([name, false]);
    }
    expect(WORKER_APIS.filter((name) => api(name).access === 'admin')).toEqual([]);
  });

  test('every decision with its reason', () => {
    const none = { roles: new Map(), deniedApis: new Set<string>(), rules: [] };
    const reader = { roles: new Map([['a', new Set(['read'] as const)]]), deniedApis: new Set<string>(), rules: [] };
    const ops = { roles: new Map([['temporal-system', new Set(['read'] as const)]]), deniedApis: new Set<string>(), rules: [] };
    expect(authorize(none, { ...api('DescribeNamespace'), health: true }, 'a')).toEqual({ allow: true, reason: 'health check' });
    expect(authorize(reader, api('GetClusterInfo'))).toEqual({ allow: true, reason: 'any caller with a role may call GetClusterInfo' });
    expect(authorize(reader, api('ListNamespaces'))).toEqual({ allow: true,
      reason: 'any caller with a role may call ListNamespaces (narrowed to its namespaces)' });
    expect(authorize(none, api('GetClusterInfo'))).toEqual({ allow: false, reason: 'GetClusterInfo needs a temporal-system role of read access' });
    expect(authorize(ops, api('GetClusterInfo'))).toEqual({ allow: true, reason: 'temporal-system role permits GetClusterInfo' });
    expect(authorize(ops, api('ListClusters'))).toEqual({ allow: false, reason: 'ListClusters needs a temporal-system role of admin access' });
    for (const namespace of [undefined, '']) {
      expect(authorize(reader, api('DescribeNamespace'), namespace)).toEqual({ allow: false, reason: 'DescribeNamespace names no namespace' });
    }
    expect(authorize(reader, api('DescribeNamespace'), 'a')).toEqual({ allow: true, reason: 'role on a permits DescribeNamespace' });
    expect(authorize(reader, api('DescribeNamespace'), 'b')).toEqual({ allow: false, reason: 'no role on b permits DescribeNamespace' });
    expect(authorize(ops, api('DescribeNamespace'), 'b')).toEqual({ allow: true, reason: 'role on b permits DescribeNamespace' });
  });

  test('the permissions minted for one call', () => {
    const grants = (entries: [string, ('read' | 'worker' | 'write' | 'admin')[]][]) => ({
      roles: new Map(entries.map(([ns, roles]) => [ns, new Set(roles)])), deniedApis: new Set<string>(), rules: [] });
    expect(permissionsFor(grants([['a', ['admin']]]), api('DescribeNamespace'), 'a')).toEqual(['a:admin']);
    expect(permissionsFor(grants([['a', ['worker']]]), api('PollWorkflowTaskQueue'), 'a')).toEqual(['a:write']);
    expect(permissionsFor(grants([['a', ['read', 'write']]]), api('DescribeNamespace'), 'a')).toEqual(['a:write']);
    expect(permissionsFor(grants([['temporal-system', ['admin']], ['a', ['read']]]), api('DescribeNamespace'), 'a'))
      .toEqual(['temporal-system:admin', 'a:read']);
    // The system namespace is named once; a cluster API names no namespace role; another namespace's role is never minted.
    expect(permissionsFor(grants([['temporal-system', ['read']]]), api('DescribeNamespace'), 'temporal-system')).toEqual(['temporal-system:read']);
    expect(permissionsFor(grants([['a', ['admin']]]), api('ListClusters'), 'a')).toEqual([]);
    expect(permissionsFor(grants([['a', ['admin']]]), api('DescribeNamespace'), 'b')).toEqual([]);
    expect(permissionsFor(grants([['a', ['read']]]), api('GetClusterInfo'))).toEqual(['temporal-system:read']);
  });
});
