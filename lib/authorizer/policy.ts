/**
 * The authorization policy: which identities get which role in which Temporal namespace, and the decision
 * for one call. Pure: validated at synth by the AuthorizerProxy construct and at boot and reload by the proxy
 * and the codec server, and evaluated on every call, with the same code. Strict: a key the policy does not
 * know is refused wherever the policy is read, so that a typo (`denyAPIs`) never passes as a rule without it.
 */
import { closest, distance } from 'fastest-levenshtein';
import { ValidationError } from '../core/errors';
import { requireTemporalNamespaceName } from '../core/names';
import { apiByName, ApiMethod } from './api';

/**
 * A role in one Temporal namespace (or, in `temporal-system`, in the whole cluster and every namespace):
 * - `read`: the read-only APIs (describe, list, count, query, history);
 * - `worker`: what a worker does (polls, task completions, heartbeats, the history it replays);
 * - `write`: `read` and `worker`, and every other write (start, signal, cancel, terminate, schedules ...);
 * - `admin`: everything, namespace administration included (update, delete, search attributes).
 */
export type Role = 'read' | 'worker' | 'write' | 'admin';
export const ROLES: readonly Role[] = ['read', 'worker', 'write', 'admin'];

/** The namespace of cluster-wide grants, as in Temporal's permission claims (`temporal-system:admin`). */
export const SYSTEM_NAMESPACE = 'temporal-system';

/**
 * Who the caller is, as authenticated by the proxy or the codec server. Open by kind: a rule matches an
 * identity through the rule's key of the same name (`certificate`, `jwt`, `apiKey`) and the fields MATCHERS
 * reads for that kind; a new kind of credential is a new member here and a new row there.
 */
export type Identity = CertificateIdentity | JwtIdentity | ApiKeyIdentity;

/** The kinds of identity (and the keys of a rule that match them). */
export type IdentityKind = Identity['kind'];

/** A caller authenticated by a client certificate: the fields rules match on. */
export interface CertificateIdentity {
  readonly kind: 'certificate';
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly commonName?: string;
  readonly organizations: readonly string[];
  readonly organizationalUnits: readonly string[];
}

/** A caller authenticated by a bearer JWT from the identity provider. */
export interface JwtIdentity {
  readonly kind: 'jwt';
  readonly issuer: string;
  readonly subject: string;
  readonly groups: readonly string[];
  /** Temporal permissions from the token (`<namespace>:<role>`), when the policy reads them. */
  readonly permissions: readonly string[];
}

/** A caller authenticated by an API key (an opaque bearer key checked against its hash). */
export interface ApiKeyIdentity {
  readonly kind: 'apiKey';
  /** The key's id (public: it names the key in audit lines and metrics, never the key itself). */
  readonly id: string;
  /** The identity the key acts for (e.g. `ci-deploy`), which rules match. */
  readonly owner: string;
}

/**
 * Certificate fields a rule matches; every field given must match. A `*` matches any run of characters
 * other than `/` (so `spiffe://cluster.local/ns/orders/temporal-client/*` stays inside namespace `orders`).
 */
export interface CertificateMatch {
  readonly uri?: string;
  readonly dnsName?: string;
  readonly commonName?: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
}

/** JWT claims a rule matches; every field given must match (`*` as for certificates). */
export interface JwtMatch {
  readonly subject?: string;
  /** One of the caller's groups (from the policy's `jwtGroupsClaim`). */
  readonly group?: string;
  readonly issuer?: string;
}

/** API-key fields a rule matches; every field given must match (`*` as for certificates). */
export interface ApiKeyMatch {
  /** The key's id. */
  readonly id?: string;
  /** The identity the key acts for. */
  readonly owner?: string;
}

/** One rule: who (a certificate, JWT or API-key match), what (roles per namespace), and the APIs they may never call. */
export interface PolicyRule {
  /** Names the rule in the audit log. */
  readonly name: string;
  readonly certificate?: CertificateMatch;
  readonly jwt?: JwtMatch;
  readonly apiKey?: ApiKeyMatch;
  /** Roles per Temporal namespace; `temporal-system` for the cluster (and so every namespace). */
  readonly grants: { readonly [key: string]: Role | readonly Role[] };
  /** APIs denied to whoever this rule matches, whatever else grants them (names such as `TerminateWorkflowExecution`). */
  readonly denyApis?: readonly string[];
}

/** The policy the proxy enforces (shipped as JSON in a ConfigMap). */
export interface AuthorizerPolicy {
  readonly rules: readonly PolicyRule[];
  /**
   * JWT claim with Temporal permissions in its own format, `<namespace>:<role>` (e.g. `orders:write`,
   * `temporal-system:read`), granted as they are. Off unless named: whoever can shape that claim at the identity
   * provider (user-editable attributes mapped into tokens, an "add permissions to the access token" switch) would
   * otherwise grant themselves any role, `temporal-system:admin` included. `false` is the same as leaving it out.
   * @default - off: roles come from the rules only
   */
  readonly jwtPermissionsClaim?: string | false;
  /** JWT claim with the caller's groups, matched by rules' `jwt.group`. @default 'groups' */
  readonly jwtGroupsClaim?: string;
}

/** What an identity was granted: roles per namespace, denied APIs, and the rules that matched. */
export interface Grants {
  readonly roles: ReadonlyMap<string, ReadonlySet<Role>>;
  readonly deniedApis: ReadonlySet<string>;
  readonly rules: readonly string[];
}

/** The decision for one call. */
export interface Decision {
  readonly allow: boolean;
  /** Why, in words that name only the caller's own target (never another namespace). */
  readonly reason: string;
}

type IdentityOf<K extends IdentityKind> = Extract<Identity, { kind: K }>;

/** For each kind of identity: the fields its rules match, and the identity's values for each (any one may match). */
type FieldReaders<K extends IdentityKind> = { readonly [field: string]: (identity: IdentityOf<K>) => readonly (string | undefined)[] };
const MATCHERS: { readonly [K in IdentityKind]: FieldReaders<K> } = {
  certificate: {
    uri: (i) => i.uris,
    dnsName: (i) => i.dnsNames,
    commonName: (i) => [i.commonName],
    organization: (i) => i.organizations,
    organizationalUnit: (i) => i.organizationalUnits,
  },
  jwt: { subject: (i) => [i.subject], group: (i) => i.groups, issuer: (i) => [i.issuer] },
  apiKey: { id: (i) => [i.id], owner: (i) => [i.owner] },
};

/** The rule keys that match an identity, one per kind. */
export const IDENTITY_KINDS = Object.keys(MATCHERS) as IdentityKind[];

/** The keys a policy and a rule may have: anything else is a mistake, refused. */
const POLICY_KEYS = ['rules', 'jwtPermissionsClaim', 'jwtGroupsClaim'];
const RULE_KEYS = ['name', ...IDENTITY_KINDS, 'grants', 'denyApis'];

/**
 * A match's patterns, compiled once per match object: a reloaded policy brings new objects, and the old ones' patterns
 * go with them, so the cache never outgrows the policies in use.
 */
const COMPILED = new WeakMap<object, ReadonlyMap<string, RegExp>>();

/** A match value as a regular expression: the whole value, with `*` for any run of characters but "/". */
function patternOf(value: string): RegExp {
  return new RegExp(`^${value.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
}

function compiled(match: Readonly<Record<string, string | undefined>>): ReadonlyMap<string, RegExp> {
  let patterns = COMPILED.get(match);
  if (patterns === undefined) {
    patterns = new Map(Object.entries(match).filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([field, value]) => [field, patternOf(value)]));
    COMPILED.set(match, patterns);
  }
  return patterns;
}

/** True when `rule` matches `identity`: the rule has a match of the identity's kind, and every field it gives matches. Pure. */
export function ruleMatches(rule: PolicyRule, identity: Identity): boolean {
  const match = rule[identity.kind] as Readonly<Record<string, string | undefined>> | undefined;
  if (match === undefined) {
    return false;
  }
  const fields = MATCHERS[identity.kind] as { readonly [field: string]: (identity: Identity) => readonly (string | undefined)[] };
  // Every field the match gives must match one of the identity's values for it (an absent value matches nothing).
  for (const [field, re] of compiled(match)) {
    if (!fields[field](identity).some((v) => v !== undefined && re.test(v))) {
      return false;
    }
  }
  return true;
}

function rolesOf(value: Role | readonly Role[]): readonly Role[] {
  return typeof value === 'string' ? [value] : value;
}

/** The JWT claim whose Temporal permissions the policy grants, or undefined when it reads none (the default). Pure. */
export function permissionsClaim(policy: AuthorizerPolicy): string | undefined {
  return typeof policy.jwtPermissionsClaim === 'string' ? policy.jwtPermissionsClaim : undefined;
}

/** Parses Temporal permission strings (`<namespace>:<role>`); malformed entries and unknown roles are skipped. Pure. */
export function parsePermissions(permissions: readonly unknown[]): [string, Role][] {
  const out: [string, Role][] = [];
  for (const p of permissions) {
    if (typeof p !== 'string') {
      continue;
    }
    const at = p.lastIndexOf(':');
    const namespace = p.slice(0, at);
    const role = p.slice(at + 1) as Role;
    if (at > 0 && ROLES.includes(role)) {
      out.push([namespace, role]);
    }
  }
  return out;
}

/** Everything `identity` is granted under `policy`. Pure. */
export function grantsOf(policy: AuthorizerPolicy, identity: Identity): Grants {
  const roles = new Map<string, Set<Role>>();
  const deniedApis = new Set<string>();
  const rules: string[] = [];
  const add = (namespace: string, role: Role): void => {
    roles.set(namespace, new Set([...(roles.get(namespace) ?? []), role]));
  };
  for (const rule of policy.rules) {
    if (ruleMatches(rule, identity)) {
      rules.push(rule.name);
      for (const [namespace, value] of Object.entries(rule.grants)) {
        rolesOf(value).forEach((role) => add(namespace, role));
      }
      (rule.denyApis ?? []).forEach((api) => deniedApis.add(apiByName(api)?.name ?? api));
    }
  }
  const claim = permissionsClaim(policy);
  if (identity.kind === 'jwt' && claim !== undefined) {
    parsePermissions(identity.permissions).forEach(([namespace, role]) => add(namespace, role));
    if (identity.permissions.length > 0) {
      rules.push(`jwt:${claim}`);
    }
  }
  return { roles, deniedApis, rules };
}

/** True when one of `roles` permits `api`. Pure. */
export function rolesPermit(roles: ReadonlySet<Role>, api: ApiMethod): boolean {
  return roles.has('admin') ||
    (roles.has('write') && api.access !== 'admin') ||
    (roles.has('worker') && api.worker) ||
    (roles.has('read') && api.access === 'read');
}

/**
 * The decision for calling `api` on `namespace` (namespace-scoped APIs) with `grants`. Health checks are
 * always allowed; a denied API is refused whatever the roles; cluster APIs need a `temporal-system` role;
 * namespace APIs a role in that namespace or in `temporal-system`. Pure.
 */
export function authorize(grants: Grants, api: ApiMethod, namespace?: string): Decision {
  if (api.health) {
    return { allow: true, reason: 'health check' };
  }
  if (grants.deniedApis.has(api.name)) {
    return { allow: false, reason: `${api.name} is denied to this identity` };
  }
  const system = grants.roles.get(SYSTEM_NAMESPACE) ?? new Set<Role>();
  // Every namespace in grants holds at least one role (grantsOf adds a namespace with its role).
  if (api.anyGranted && !rolesPermit(system, api) && grants.roles.size > 0) {
    return { allow: true, reason: `any caller with a role may call ${api.name}${api.anyGranted === 'filtered' ? ' (narrowed to its namespaces)' : ''}` };
  }
  if (api.scope === 'cluster') {
    return rolesPermit(system, api) ? { allow: true, reason: `temporal-system role permits ${api.name}` }
      : { allow: false, reason: `${api.name} needs a temporal-system role of ${api.access} access` };
  }
  if (namespace === undefined || namespace === '') {
    return { allow: false, reason: `${api.name} names no namespace` };
  }
  const roles = new Set([...system, ...(grants.roles.get(namespace) ?? [])]);
  return rolesPermit(roles, api) ? { allow: true, reason: `role on ${namespace} permits ${api.name}` }
    : { allow: false, reason: `no role on ${namespace} permits ${api.name}` };
}

/** The server's role for a set of ours: the server has no worker-only level, so `worker` is `write` there (the proxy narrows it). */
function serverRole(roles: ReadonlySet<Role>): 'admin' | 'write' | 'read' | undefined {
  if (roles.has('admin')) {
    return 'admin';
  }
  if (roles.has('write') || roles.has('worker')) {
    return 'write';
  }
  return roles.has('read') ? 'read' : undefined;
}

/**
 * The namespaces whose entries a `filtered` answer (ListNamespaces) may show `grants`: every one with a
 * `temporal-system` role, else those it holds a role in.
 */
export function visibleNamespaces(grants: Grants): ((namespace: string) => boolean) {
  if ((grants.roles.get(SYSTEM_NAMESPACE)?.size ?? 0) > 0) {
    return () => true;
  }
  return (namespace) => (grants.roles.get(namespace)?.size ?? 0) > 0;
}

/**
 * The permissions to mint for one allowed call, in Temporal's claim format, for the server's default
 * authorizer: the caller's role on the call's namespace and its `temporal-system` role, nothing else; for the
 * `anyGranted` cluster reads (GetClusterInfo, ListNamespaces) the `temporal-system:read` the server needs for
 * them, for that call only. Pure.
 */
export function permissionsFor(grants: Grants, api: ApiMethod, namespace?: string): string[] {
  const out: string[] = [];
  const system = serverRole(grants.roles.get(SYSTEM_NAMESPACE) ?? new Set());
  if (system) {
    out.push(`${SYSTEM_NAMESPACE}:${system}`);
  } else if (api.anyGranted && authorize(grants, api).allow) {
    // The server needs a cluster read for it; the proxy has allowed it (and narrows ListNamespaces' answer).
    out.push(`${SYSTEM_NAMESPACE}:read`);
  }
  if (api.scope === 'namespace' && namespace !== undefined && namespace !== SYSTEM_NAMESPACE) {
    const role = serverRole(grants.roles.get(namespace) ?? new Set());
    if (role) {
      out.push(`${namespace}:${role}`);
    }
  }
  return out;
}

/** The default, empty policy: nobody is granted anything. */
export const EMPTY_POLICY: AuthorizerPolicy = { rules: [] };

function fail(path: string, problem: string, value: unknown, fix: string): never {
  throw new ValidationError('INVALID_POLICY', path, problem, value, fix);
}

/**
 * Validates a policy (from props at synth, or from its ConfigMap at boot) and returns it. Every rule needs a
 * name, exactly one of `certificate` or `jwt` with at least one field (a rule matching everybody is refused),
 * valid namespaces and roles, and known APIs in `denyApis`. Pure.
 */
export function validatePolicy(path: string, policy: unknown): AuthorizerPolicy {
  if (!Array.isArray((policy as AuthorizerPolicy | null | undefined)?.rules)) {
    fail(path, 'the policy must be an object with a rules array', policy, 'write { rules: [ { name, certificate | jwt, grants } ] }');
  }
  const p = policy as AuthorizerPolicy;
  refuseUnknownKeys(path, p, POLICY_KEYS, 'policy');
  for (const [field, value] of [['jwtPermissionsClaim', p.jwtPermissionsClaim], ['jwtGroupsClaim', p.jwtGroupsClaim]] as const) {
    if (value !== undefined && value !== false && (typeof value !== 'string' || !/^[A-Za-z0-9_.:/-]{1,100}$/.test(value))) {
      fail(`${path}/${field}`, `${field} must be a claim name`, value, 'use e.g. "permissions" or "groups"');
    }
  }
  if (p.jwtGroupsClaim === false as unknown) {
    fail(`${path}/jwtGroupsClaim`, 'jwtGroupsClaim must be a claim name', false, 'leave it unset for "groups"');
  }
  const names = new Set<string>();
  p.rules.forEach((rule, i) => validateRule(`${path}/rules[${i}]`, rule, names));
  return p;
}

/**
 * Validates one rule at `at`: its name (not among `names`, to which it is added once the rule passed), its match,
 * grants and denied APIs. Throws `INVALID_POLICY`.
 */
export function validateRule(at: string, rule: PolicyRule, names: Set<string>): void {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    fail(at, 'a rule must be an object', rule, 'write { name, certificate | jwt | apiKey, grants }');
  }
  refuseUnknownKeys(at, rule, RULE_KEYS, 'rule');
  if (typeof rule.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/.test(rule.name)) {
    fail(at, 'name must be 1-100 letters, digits, ".", "_", ":", "/" or "-"', rule.name, 'name the rule, e.g. "orders-workers"');
  }
  if (names.has(rule.name)) {
    fail(at, 'two rules share a name', rule.name, 'give every rule its own name (it identifies the rule in the audit log)');
  }
  const kinds = IDENTITY_KINDS.filter((k) => rule[k] !== undefined);
  if (kinds.length !== 1) {
    fail(at, 'a rule matches one kind of caller: a certificate, a JWT or an API key', kinds,
      'set exactly one of certificate: {...}, jwt: {...} or apiKey: {...}');
  }
  const kind = kinds[0];
  const match = rule[kind] as Record<string, unknown>;
  if (match === null || typeof match !== 'object' || Array.isArray(match)) {
    fail(`${at}/${kind}`, `${kind} must be an object of match fields`, match, `e.g. ${kind}: { ${Object.keys(MATCHERS[kind])[0]}: "..." }`);
  }
  const fields = Object.keys(match);
  const allowed: readonly string[] = Object.keys(MATCHERS[kind]);
  refuseUnknownKeys(`${at}/${kind}`, match, allowed, `${kind} match`);
  const given = fields.filter((f) => match[f] !== undefined);
  if (given.length === 0) {
    fail(`${at}/${kind}`, 'the match has no field, so it would match every caller', match,
      `match at least one of ${allowed.join(', ')}, e.g. { uri: "spiffe://cluster.local/ns/orders/temporal-client/*" }`);
  }
  for (const f of given) {
    const value = match[f];
    // Empty, or only "*", would match every caller.
    if (typeof value !== 'string' || value.length > 512 || /^\**$/.test(value)) {
      fail(`${at}/${kind}/${f}`, `${f} must be a non-empty string that is not only "*"`, value,
        'name the value, with "*" for a varying part at most');
    }
  }
  if (rule.grants === null || typeof rule.grants !== 'object' || Array.isArray(rule.grants)) {
    fail(`${at}/grants`, 'grants must map namespaces to roles', rule.grants, 'e.g. grants: { orders: "write" }');
  }
  for (const [namespace, value] of Object.entries(rule.grants)) {
    if (namespace !== SYSTEM_NAMESPACE) {
      requireTemporalNamespaceName(`${at}/grants`, namespace);
    }
    const roles = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(roles) || roles.length === 0 || roles.some((r) => !ROLES.includes(r as Role))) {
      fail(`${at}/grants/${namespace}`, `a role must be one of ${ROLES.join(', ')}`, value, 'e.g. "write" or ["read", "worker"]');
    }
  }
  if (rule.denyApis !== undefined) {
    if (!Array.isArray(rule.denyApis)) {
      fail(`${at}/denyApis`, 'denyApis must be a list of API names', rule.denyApis, 'e.g. ["TerminateWorkflowExecution"]');
    }
    for (const api of rule.denyApis) {
      if (typeof api !== 'string' || apiByName(api) === undefined) {
        fail(`${at}/denyApis`, 'denyApis names an API the proxy does not serve', api,
          'use a WorkflowService or OperatorService method name, e.g. "TerminateWorkflowExecution"');
      }
    }
  }
  // Only a rule that passed every check takes its name: a refused rule may be corrected and added again.
  names.add(rule.name);
}

/** Refuses a key of `value` that is not one of `allowed`, naming the closest allowed key when it looks like a typo. */
function refuseUnknownKeys(at: string, value: object, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const near = closest(key, [...allowed]);
      const hint = distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(near.length / 3)) ? `did you mean "${near}"? ` : '';
      fail(`${at}/${key}`, `a ${what} has no field "${key}"`, key, `${hint}a ${what} takes ${allowed.join(', ')}`);
    }
  }
}
