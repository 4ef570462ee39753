import { isIP } from 'node:net';
import { ValidationError } from './errors';

/** Label every Namespace carries (set by the API server since Kubernetes 1.22). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Pods in the namespaces that match `namespaceLabels` (and, if given, `podLabels`). */
export interface NamespacePeer {
  readonly kind: 'namespace';
  /** Labels the namespaces must carry. Never empty: an empty selector would admit every namespace. */
  readonly namespaceLabels: { readonly [key: string]: string };
  /** @default - every pod of those namespaces */
  readonly podLabels?: { readonly [key: string]: string };
}

/** Addresses outside the cluster's pod network (a managed database, an identity provider ...). */
export interface CidrPeer {
  readonly kind: 'cidr';
  /** IPv4 or IPv6 CIDR, e.g. `10.20.0.0/24`. */
  readonly cidr: string;
  /** Sub-ranges of `cidr` that are NOT admitted. @default - none */
  readonly except?: readonly string[];
}

/** A peer outside the Temporal namespace: other namespaces' pods, or an address range. */
export type ExternalPeer = NamespacePeer | CidrPeer;

/** Factories for peers. */
export const Peer = {
  /** Pods of the namespace called `name` (optionally only those with `podLabels`). */
  namespace(name: string, podLabels?: Readonly<Record<string, string>>): NamespacePeer {
    return { kind: 'namespace', namespaceLabels: { [NAMESPACE_NAME_LABEL]: name }, ...(podLabels ? { podLabels } : {}) };
  },
  /** Pods of every namespace labelled `namespaceLabels` (optionally only those with `podLabels`). */
  namespaces(namespaceLabels: Readonly<Record<string, string>>, podLabels?: Readonly<Record<string, string>>): NamespacePeer {
    return { kind: 'namespace', namespaceLabels, ...(podLabels ? { podLabels } : {}) };
  },
  /** An address range, minus `except`. */
  cidr(cidr: string, except?: readonly string[]): CidrPeer {
    return { kind: 'cidr', cidr, ...(except ? { except } : {}) };
  },
} as const;

/** Cluster DNS: where every pod may send DNS queries. */
export interface DnsPeerProps {
  /** The DNS pods (or, for node-local DNS, a CIDR). @default Peer.namespace('kube-system', { 'k8s-app': 'kube-dns' }) */
  readonly peer?: ExternalPeer;
  /** Port the DNS pods listen on (after Service translation). @default 53 */
  readonly port?: number;
}

export const DEFAULT_DNS_PEER: NamespacePeer = Peer.namespace('kube-system', { 'k8s-app': 'kube-dns' });
export const DEFAULT_INGRESS_CONTROLLER_PEER: NamespacePeer = Peer.namespace('ingress-nginx');
export const DEFAULT_MONITORING_PEER: NamespacePeer = Peer.namespace('monitoring');

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function validateLabels(path: string, field: string, labels: unknown, allowEmpty: boolean): void {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new ValidationError('INVALID_PEER', path, `${field} must be a map of labels`, labels,
      `set ${field}, e.g. { "kubernetes.io/metadata.name": "monitoring" }`);
  }
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length === 0 && !allowEmpty) {
    throw new ValidationError('INVALID_PEER', path, `${field} is empty, which would admit every namespace`, labels,
      'name the namespace, e.g. Peer.namespace("monitoring")');
  }
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key) || typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      throw new ValidationError('INVALID_PEER', path, `${field} holds an invalid label`, { [key]: value },
        'use Kubernetes label syntax (keys like "app.kubernetes.io/name", values up to 63 characters)');
    }
  }
}

/** A parsed CIDR: family, network address as a number and prefix length. */
export interface ParsedCidr {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
}

function ipToBigInt(ip: string, family: 4 | 6): bigint {
  if (family === 4) {
    return ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
  }
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) + BigInt(parseInt(part, 16)), 0n);
}

/** Parses `a.b.c.d/n` or an IPv6 CIDR; undefined when malformed or when host bits are set. */
export function parseCidr(cidr: string): ParsedCidr | undefined {
  if (typeof cidr !== 'string') {
    return undefined;
  }
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!match) {
    return undefined;
  }
  const family = isIP(match[1]);
  if ((family !== 4 && family !== 6) || (family === 6 && match[1].includes('.'))) {
    return undefined;
  }
  const bits = family === 4 ? 32 : 128;
  const prefix = Number(match[2]);
  if (prefix > bits) {
    return undefined;
  }
  const network = ipToBigInt(match[1], family);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((network & hostMask) !== 0n) {
    return undefined;
  }
  return { family, network, prefix };
}

function contains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  const bits = outer.family === 4 ? 32 : 128;
  const shift = BigInt(bits - outer.prefix);
  return outer.family === inner.family && inner.prefix > outer.prefix && (inner.network >> shift) === (outer.network >> shift);
}

/**
 * Throws unless `peer` is well formed. A CIDR of prefix 0 (every address) is refused unless
 * `allowAnyAddress` is set, which only an explicitly declared extra flow can do.
 */
export function validatePeer(path: string, field: string, peer: ExternalPeer, allowAnyAddress = false): void {
  if (peer === null || typeof peer !== 'object') {
    throw new ValidationError('INVALID_PEER', path, `${field} must be a peer`, peer,
      'use Peer.namespace("name"), Peer.namespaces({...}) or Peer.cidr("10.0.0.0/24")');
  }
  if (peer.kind === 'namespace') {
    validateLabels(path, `${field}.namespaceLabels`, peer.namespaceLabels, false);
    if (peer.podLabels !== undefined) {
      validateLabels(path, `${field}.podLabels`, peer.podLabels, true);
    }
    return;
  }
  if (peer.kind !== 'cidr') {
    throw new ValidationError('INVALID_PEER', path, `${field} has an unknown kind`, (peer as { kind?: unknown }).kind,
      'use Peer.namespace("name"), Peer.namespaces({...}) or Peer.cidr("10.0.0.0/24")');
  }
  const parsed = parseCidr(peer.cidr);
  if (parsed === undefined) {
    throw new ValidationError('INVALID_PEER', path, `${field}.cidr must be an IPv4 or IPv6 CIDR without host bits`,
      peer.cidr, 'write the network address and prefix, e.g. "10.20.0.0/24" or "10.20.0.5/32"');
  }
  if (parsed.prefix === 0 && !allowAnyAddress) {
    throw new ValidationError('INVALID_PEER', path, `${field}.cidr admits every address`, peer.cidr,
      'name the address range you need; to really open every address, declare an extra flow with allowAnyAddress: true');
  }
  for (const except of peer.except ?? []) {
    const inner = parseCidr(except);
    if (inner === undefined || !contains(parsed, inner)) {
      throw new ValidationError('INVALID_PEER', path, `${field}.except must list CIDRs strictly inside ${peer.cidr}`,
        except, `remove it or use a sub-range of ${peer.cidr}`);
    }
  }
}

/** True when the peer admits every address (a CIDR of prefix 0). */
export function isAnyAddress(peer: ExternalPeer): boolean {
  return peer.kind === 'cidr' && parseCidr(peer.cidr)?.prefix === 0;
}

/** Short human text for docs and diagrams, e.g. `ns monitoring` or `10.20.0.0/24`. */
export function describePeer(peer: ExternalPeer): string {
  if (peer.kind === 'cidr') {
    return peer.except && peer.except.length > 0 ? `${peer.cidr} except ${peer.except.join(', ')}` : peer.cidr;
  }
  const ns = Object.keys(peer.namespaceLabels).length === 1 && peer.namespaceLabels[NAMESPACE_NAME_LABEL] !== undefined
    ? `ns ${peer.namespaceLabels[NAMESPACE_NAME_LABEL]}`
    : `ns ${labelText(peer.namespaceLabels)}`;
  return peer.podLabels && Object.keys(peer.podLabels).length > 0 ? `${ns}, pods ${labelText(peer.podLabels)}` : ns;
}

function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * Whether `peer` may admit pods of the Kubernetes namespace `namespace`: a namespace peer that names it (by
 * its name label) or that selects namespaces by other labels (which that namespace may carry). A CIDR peer
 * never does: pods are matched by namespace, not by address. Pure.
 */
export function admitsNamespace(peer: ExternalPeer, namespace: string): boolean {
  if (peer?.kind !== 'namespace') {
    return false;
  }
  const name = peer.namespaceLabels[NAMESPACE_NAME_LABEL];
  return name === undefined || name === namespace;
}
