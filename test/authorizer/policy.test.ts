import { apiByName, ApiMethod } from '../../lib/authorizer/api';
import {
  ApiKeyIdentity, AuthorizerPolicy, authorize, CertificateIdentity, grantsOf, Identity, JwtIdentity, parsePermissions, permissionsClaim,
  permissionsFor, ruleMatches, visibleNamespaces, validatePolicy,
} from '../../lib/authorizer/policy';
import { ValidationError } from '../../lib/core/errors';

const api = (name: string): ApiMethod => {
  const found = apiByName(name);
  if (!found) {
    throw new Error(`no API ${name}`);
  }
  return found;
};

const cert = (uri: string, extra: Partial<CertificateIdentity> = {}): CertificateIdentity => ({
  kind: 'certificate', uris: [uri], dnsNames: [], commonName: uri.split('/').pop(), organizations: [], organizationalUnits: [], ...extra,
});
const jwt = (subject: string, extra: Partial<JwtIdentity> = {}): JwtIdentity => ({
  kind: 'jwt', issuer: 'https://idp.example.com', subject, groups: [], permissions: [], ...extra,
});

const POLICY: AuthorizerPolicy = validatePolicy('test', {
  rules: [
    { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' },
      denyApis: ['TerminateWorkflowExecution'] },
    { name: 'orders-pollers', certificate: { commonName: 'poller', organization: 'Orders' }, grants: { orders: 'worker' } },
    { name: 'auditors', jwt: { group: 'auditors' }, grants: { 'temporal-system': 'read' } },
    { name: 'platform', jwt: { subject: 'admin@example.com', issuer: 'https://idp.example.com' }, grants: { 'temporal-system': 'admin' } },
    { name: 'readers', jwt: { group: 'orders-readers' }, grants: { orders: ['read'] } },
  ],
});

const decide = (policy: AuthorizerPolicy, identity: Identity, name: string, namespace?: string) =>
  authorize(grantsOf(policy, identity), api(name), namespace).allow;

describe('the authorization policy', () => {
  const worker = cert('spiffe://cluster.local/ns/orders/temporal-client/orders-worker');

  it('does grant a role in the namespaces a matching rule names, and nowhere else', () => {
    expect(decide(POLICY, worker, 'StartWorkflowExecution', 'orders')).toBe(true);
    expect(decide(POLICY, worker, 'PollWorkflowTaskQueue', 'orders')).toBe(true);
    expect(decide(POLICY, worker, 'StartWorkflowExecution', 'billing')).toBe(false);
    expect(decide(POLICY, worker, 'DescribeNamespace', 'billing')).toBe(false);
    expect(decide(POLICY, worker, 'UpdateNamespace', 'orders')).toBe(false);
  });

  it('does match `*` within one path segment only', () => {
    expect(ruleMatches(POLICY.rules[0], cert('spiffe://cluster.local/ns/orders/temporal-client/x'))).toBe(true);
    expect(ruleMatches(POLICY.rules[0], cert('spiffe://cluster.local/ns/orders/temporal-client/x/y'))).toBe(false);
    expect(ruleMatches(POLICY.rules[0], cert('spiffe://cluster.local/ns/billing/temporal-client/x'))).toBe(false);
    expect(ruleMatches(POLICY.rules[0], cert('spiffe://cluster.local/ns/orders.evil/temporal-client/x'))).toBe(false);
  });

  it('does require every field of a certificate match', () => {
    expect(ruleMatches(POLICY.rules[1], cert('x', { commonName: 'poller', organizations: ['Orders'] }))).toBe(true);
    expect(ruleMatches(POLICY.rules[1], cert('x', { commonName: 'poller', organizations: ['Billing'] }))).toBe(false);
    expect(ruleMatches(POLICY.rules[1], jwt('poller'))).toBe(false);
  });

  it('does give read only the read APIs, and worker only what a worker does', () => {
    const reader = jwt('r', { groups: ['orders-readers'] });
    expect(decide(POLICY, reader, 'ListWorkflowExecutions', 'orders')).toBe(true);
    expect(decide(POLICY, reader, 'DescribeWorkflowExecution', 'orders')).toBe(true);
    expect(decide(POLICY, reader, 'StartWorkflowExecution', 'orders')).toBe(false);
    expect(decide(POLICY, reader, 'SignalWorkflowExecution', 'orders')).toBe(false);
    expect(decide(POLICY, reader, 'PollActivityTaskQueue', 'orders')).toBe(false);
    const poller = cert('x', { commonName: 'poller', organizations: ['Orders'] });
    expect(decide(POLICY, poller, 'PollActivityTaskQueue', 'orders')).toBe(true);
    expect(decide(POLICY, poller, 'RespondActivityTaskCompleted', 'orders')).toBe(true);
    expect(decide(POLICY, poller, 'GetWorkflowExecutionHistory', 'orders')).toBe(true);
    expect(decide(POLICY, poller, 'StartWorkflowExecution', 'orders')).toBe(false);
    expect(decide(POLICY, poller, 'ListWorkflowExecutions', 'orders')).toBe(false);
  });

  it('does let every caller with a role somewhere read the cluster info and its own namespaces, with the server\'s read for that call', () => {
    const orders = grantsOf(POLICY, worker);
    expect(authorize(orders, api('GetClusterInfo'))).toEqual({ allow: true, reason: 'any caller with a role may call GetClusterInfo' });
    expect(authorize(orders, api('ListNamespaces')).allow).toBe(true);
    expect(permissionsFor(orders, api('ListNamespaces'))).toEqual(['temporal-system:read']);
    expect(permissionsFor(orders, api('GetSearchAttributes'))).toEqual([]);
    const sees = visibleNamespaces(orders);
    expect(['orders', 'billing', 'temporal-system'].filter(sees)).toEqual(['orders']);
    const nobody = grantsOf(POLICY, jwt('nobody'));
    expect(authorize(nobody, api('GetClusterInfo')).allow).toBe(false);
    expect(authorize(nobody, api('ListNamespaces')).allow).toBe(false);
    expect(permissionsFor(nobody, api('ListNamespaces'))).toEqual([]);
    expect(visibleNamespaces(grantsOf(POLICY, jwt('a', { groups: ['auditors'] })))('anything')).toBe(true);
  });

  it('does need a temporal-system role for cluster APIs, and let it reach every namespace', () => {
    expect(decide(POLICY, worker, 'GetSearchAttributes')).toBe(false);
    const auditor = jwt('a', { groups: ['auditors'] });
    expect(decide(POLICY, auditor, 'ListNamespaces')).toBe(true);
    expect(decide(POLICY, auditor, 'DescribeWorkflowExecution', 'anything')).toBe(true);
    expect(decide(POLICY, auditor, 'ListClusters')).toBe(false);
    expect(decide(POLICY, auditor, 'StartWorkflowExecution', 'anything')).toBe(false);
    const admin = jwt('admin@example.com');
    expect(decide(POLICY, admin, 'ListClusters')).toBe(true);
    expect(decide(POLICY, admin, 'RegisterNamespace', 'new')).toBe(true);
    expect(decide(POLICY, jwt('admin@example.com', { issuer: 'https://other.example.com' }), 'ListClusters')).toBe(false);
  });

  it('does deny a denied API whatever the roles, and always allow health checks', () => {
    expect(decide(POLICY, worker, 'TerminateWorkflowExecution', 'orders')).toBe(false);
    expect(authorize(grantsOf(POLICY, worker), api('TerminateWorkflowExecution'), 'orders').reason)
      .toBe('TerminateWorkflowExecution is denied to this identity');
    expect(decide(POLICY, jwt('nobody'), 'GetSystemInfo')).toBe(true);
    expect(decide(POLICY, jwt('nobody'), 'Check')).toBe(true);
  });

  it('does refuse a namespace API without a namespace', () => {
    expect(authorize(grantsOf(POLICY, worker), api('StartWorkflowExecution'), undefined))
      .toEqual({ allow: false, reason: 'StartWorkflowExecution names no namespace' });
  });

  it('does name only the target namespace in a denial', () => {
    const reason = authorize(grantsOf(POLICY, worker), api('StartWorkflowExecution'), 'billing').reason;
    expect(reason).toBe('no role on billing permits StartWorkflowExecution');
    expect(reason).not.toContain('orders');
  });

  it('does take Temporal permissions from the token\'s claim only when the policy names the claim', () => {
    const holder = jwt('svc', { permissions: ['billing:write', 'temporal-system:read', 'bad', 'x:owner', 7 as never] });
    expect(parsePermissions(holder.permissions)).toEqual([['billing', 'write'], ['temporal-system', 'read']]);
    expect(decide({ ...POLICY, jwtPermissionsClaim: 'permissions' }, holder, 'StartWorkflowExecution', 'billing')).toBe(true);
    expect(grantsOf({ ...POLICY, jwtPermissionsClaim: 'permissions' }, holder).rules).toEqual(['jwt:permissions']);
    expect(decide({ ...POLICY, jwtPermissionsClaim: false }, holder, 'StartWorkflowExecution', 'billing')).toBe(false);
    expect(permissionsClaim({ rules: [], jwtPermissionsClaim: 'perms' })).toBe('perms');
  });

  it('does ignore a token\'s permissions claim by default: temporal-system:admin in a token grants nothing', () => {
    const holder = jwt('mallory', { permissions: ['temporal-system:admin', 'billing:admin'] });
    expect(permissionsClaim(POLICY)).toBeUndefined();
    expect(decide(POLICY, holder, 'ListClusters')).toBe(false);
    expect(decide(POLICY, holder, 'StartWorkflowExecution', 'billing')).toBe(false);
    expect(grantsOf(POLICY, holder)).toEqual({ roles: new Map(), deniedApis: new Set(), rules: [] });
  });

  it('does match an API key by its owner or id, and no other kind of identity by an apiKey rule', () => {
    const policy = validatePolicy('keys', { rules: [
      { name: 'ci', apiKey: { owner: 'ci-deploy' }, grants: { orders: 'write' } },
      { name: 'one-key', apiKey: { id: 'audit-2026-*', owner: 'auditor' }, grants: { 'temporal-system': 'read' } },
    ] });
    const key = (id: string, owner: string): ApiKeyIdentity => ({ kind: 'apiKey', id, owner });
    expect(decide(policy, key('ci-1', 'ci-deploy'), 'StartWorkflowExecution', 'orders')).toBe(true);
    expect(decide(policy, key('ci-1', 'ci-deploy'), 'StartWorkflowExecution', 'billing')).toBe(false);
    expect(decide(policy, key('audit-2026-01', 'auditor'), 'ListNamespaces')).toBe(true);
    expect(decide(policy, key('audit-2027-01', 'auditor'), 'ListNamespaces')).toBe(false);
    expect(decide(policy, key('audit-2026-01', 'someone'), 'ListNamespaces')).toBe(false);
    // A certificate or token whose names equal the key's owner is not matched by an apiKey rule, nor a key by theirs.
    expect(decide(policy, jwt('ci-deploy'), 'StartWorkflowExecution', 'orders')).toBe(false);
    expect(decide(POLICY, key('x', 'auditors'), 'ListNamespaces')).toBe(false);
  });

  it('does mint for the server only the role on the call\'s namespace and the temporal-system role', () => {
    const both = grantsOf({ rules: [{ name: 'x', jwt: { subject: 's' }, grants: { 'orders': 'worker', 'billing': 'admin',
      'temporal-system': 'read' } }] }, jwt('s'));
    expect(permissionsFor(both, api('PollWorkflowTaskQueue'), 'orders')).toEqual(['temporal-system:read', 'orders:write']);
    expect(permissionsFor(both, api('ListNamespaces'))).toEqual(['temporal-system:read']);
    expect(permissionsFor(grantsOf(POLICY, worker), api('StartWorkflowExecution'), 'orders')).toEqual(['orders:write']);
    expect(permissionsFor(grantsOf(POLICY, jwt('r', { groups: ['orders-readers'] })), api('DescribeNamespace'), 'orders'))
      .toEqual(['orders:read']);
  });
});

describe('validatePolicy', () => {
  const invalid = (policy: unknown, message: RegExp, code = 'INVALID_POLICY'): ValidationError => {
    let thrown: unknown;
    try {
      validatePolicy('policy', policy);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).code).toBe(code);
    expect((thrown as ValidationError).message).toMatch(message);
    expect((thrown as ValidationError).message).toContain('Fix: ');
    return thrown as ValidationError;
  };
  const rule = { name: 'r', certificate: { uri: 'spiffe://x/ns/a/temporal-client/b' }, grants: { a: 'read' } };

  it.each([
    ['no rules array', {}, /rules array/],
    ['a rule without a name', { rules: [{ ...rule, name: '' }] }, /name must be/],
    ['two rules of one name', { rules: [rule, rule] }, /two rules share a name/],
    ['a rule with no match', { rules: [{ name: 'r', grants: { a: 'read' } }] }, /one kind of caller: a certificate, a JWT or an API key/],
    ['a rule with both matches', { rules: [{ ...rule, jwt: { subject: 's' } }] }, /one kind of caller/],
    ['a rule with a certificate and an API-key match', { rules: [{ ...rule, apiKey: { owner: 'o' } }] }, /one kind of caller/],
    ['a match without a field', { rules: [{ ...rule, certificate: {} }] }, /would match every caller/],
    ['an API-key match without a field', { rules: [{ name: 'k', apiKey: {}, grants: { a: 'read' } }] }, /would match every caller/],
    ['a match that is not an object', { rules: [{ name: 'k', apiKey: 'ci', grants: { a: 'read' } }] }, /apiKey must be an object/],
    ['a match of only "*"', { rules: [{ ...rule, certificate: { uri: '*' } }] }, /not only "\*"/],
    ['an unknown match field', { rules: [{ ...rule, certificate: { serial: '1' } }] }, /a certificate match has no field "serial"/],
    ['a rule that is a list', { rules: [[rule]] }, /a rule must be an object/],
    ['an unknown role', { rules: [{ ...rule, grants: { a: 'owner' } }] }, /a role must be one of read, worker, write, admin/],
    ['an unknown API', { rules: [{ ...rule, denyApis: ['DropEverything'] }] }, /denyApis names an API the proxy does not serve/],
    ['a bad claim name', { rules: [], jwtGroupsClaim: 'has space' }, /jwtGroupsClaim must be a claim name/],
  ])('fails on %s', (_what, policy, message) => {
    invalid(policy, message);
  });

  // A key the policy does not know is a mistake: ignoring it would drop what its author meant (a deny list, a claim
  // turned off), so it is refused with the field and the closest known key.
  it.each([
    ['a misspelt deny list in a rule', { rules: [{ ...rule, denyAPIs: ['TerminateWorkflowExecution'] }] },
      'policy/rules[0]/denyAPIs', /a rule has no field "denyAPIs".*did you mean "denyApis"\?/],
    ['a misspelt claim setting', { rules: [], jwtPermissionClaim: false }, 'policy/jwtPermissionClaim',
      /a policy has no field "jwtPermissionClaim".*did you mean "jwtPermissionsClaim"\?/],
    ['a misspelt match field', { rules: [{ ...rule, certificate: { URI: 'spiffe://x/ns/a/temporal-client/b' } }] },
      'policy/rules[0]/certificate/URI', /did you mean "uri"\?/],
    ['a field of another kind of match', { rules: [{ name: 'k', jwt: { owner: 'ci' }, grants: { a: 'read' } }] },
      'policy/rules[0]/jwt/owner', /a jwt match has no field "owner".*takes subject, group, issuer/],
    ['an unrelated key', { rules: [{ ...rule, comment: 'x' }] }, 'policy/rules[0]/comment',
      /a rule has no field "comment" \(got "comment"\)\. Fix: a rule takes name, certificate, jwt, apiKey, grants, denyApis/],
  ])('fails on %s, naming the field and the fix', (_what, policy, path, message) => {
    const error = invalid(policy, message);
    expect(error.path).toBe(path);
  });

  it('fails with INVALID_NAMESPACE on a namespace that is not a Temporal namespace name', () => {
    invalid({ rules: [{ ...rule, grants: { 'has space': 'read' } }] }, /Temporal namespace name/, 'INVALID_NAMESPACE');
  });

  it('does name the rule path in the error', () => {
    expect(invalid({ rules: [rule, { ...rule, name: 'q', grants: { a: 'boss' } }] }, /role/).path).toBe('policy/rules[1]/grants/a');
  });
});
