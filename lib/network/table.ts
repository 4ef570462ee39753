import { ValidationError } from '../core/errors';
import { Component, Flow, FlowEndpoint, FlowPort, PeerGroup, Protocol } from './flows';
import { describePeer, ExternalPeer, validatePeer } from '../core/peers';

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** A destination port of an extra flow. */
export interface ExtraFlowPort {
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: Protocol;
}

/**
 * The escape hatch: a flow the design does not know about (an identity provider's JWKS endpoint, an
 * OTLP collector, a second database ...). Each one is reviewed like code: it names its source, its
 * destination, its ports and why it exists, and it appears in the docs and the diagram.
 */
export interface ExtraFlow {
  /** A component id of this deployment (e.g. `'frontend'`), or a peer outside the namespace. */
  readonly from: string | ExternalPeer;
  /** A component id of this deployment, or a peer outside the namespace. */
  readonly to: string | ExternalPeer;
  /** Destination ports. For a component destination, each must be a port its containers listen on. */
  readonly ports: readonly (number | ExtraFlowPort)[];
  /** Why the flow exists (shown in docs and the diagram). */
  readonly purpose: string;
  /**
   * Accept a peer of prefix 0 (`0.0.0.0/0`, `::/0`): every address, the Internet included.
   * @default false
   */
  readonly allowAnyAddress?: boolean;
}

function componentList(components: readonly Component[]): string {
  return components.map((c) => c.id).join(', ');
}

function resolveSide(path: string, field: string, side: string | ExternalPeer, components: readonly Component[],
  allowAnyAddress: boolean, id: string): FlowEndpoint {
  if (typeof side === 'string') {
    const component = components.find((c) => c.id === side);
    if (component === undefined) {
      throw new ValidationError('INVALID_FLOW', path, `${field} names no component of this deployment`, side,
        `use one of ${componentList(components)}, or a peer such as Peer.cidr("10.0.0.0/24")`);
    }
    return component;
  }
  validatePeer(path, field, side, allowAnyAddress);
  const group: PeerGroup = { kind: 'peers', id, label: describePeer(side), peers: [side] };
  return group;
}

function resolvePorts(path: string, ports: readonly (number | ExtraFlowPort)[] | undefined): FlowPort[] {
  if (!Array.isArray(ports) || ports.length === 0) {
    throw new ValidationError('INVALID_FLOW', path, 'ports must list at least one port', ports,
      'name the destination ports, e.g. ports: [443]');
  }
  return ports.map((p) => {
    const port = typeof p === 'number' ? p : p?.port;
    const protocol = typeof p === 'number' ? 'TCP' : p?.protocol ?? 'TCP';
    return { port, protocol, name: 'declared' };
  });
}

/** Turns the declared extra flows into rows of the table, validating each. Pure. */
export function resolveExtraFlows(path: string, components: readonly Component[], extras: readonly ExtraFlow[]): Flow[] {
  return extras.map((extra, i) => {
    const at = `${path}/extraFlows[${i}]`;
    const any = extra.allowAnyAddress === true;
    if (typeof extra.purpose !== 'string' || extra.purpose.trim() === '') {
      throw new ValidationError('INVALID_FLOW', at, 'purpose is required', extra.purpose,
        'say why the flow exists, e.g. purpose: "frontend fetches the IdP JWKS"');
    }
    const from = resolveSide(at, 'from', extra.from, components, any, `extra-${i}-from`);
    const to = resolveSide(at, 'to', extra.to, components, any, `extra-${i}-to`);
    return { from, to, ports: resolvePorts(at, extra.ports), category: 'extra', purpose: extra.purpose.trim(),
      ...(any ? { allowAnyAddress: true } : {}) };
  });
}

function label(endpoint: FlowEndpoint): string {
  return endpoint.kind === 'component' ? endpoint.id : endpoint.label;
}

/**
 * Throws unless the table is coherent: component ids are unique; every flow touches at least one
 * component of the deployment; every component it names exists; every port is valid and, when the
 * destination is a component, one that component listens on; every peer is well formed. Pure.
 */
export function validateFlowTable(path: string, components: readonly Component[], flows: readonly Flow[]): void {
  const ids = new Set<string>();
  for (const component of components) {
    if (ids.has(component.id)) {
      throw new ValidationError('INVALID_FLOW', path, 'two components share an id', component.id,
        'give every component its own id');
    }
    ids.add(component.id);
  }
  flows.forEach((flow, i) => {
    const at = `${path}/flows[${i}] (${label(flow.from)} -> ${label(flow.to)})`;
    if (flow.from.kind !== 'component' && flow.to.kind !== 'component') {
      throw new ValidationError('INVALID_FLOW', at, 'a flow must start or end at a component of this deployment',
        { from: label(flow.from), to: label(flow.to) }, 'traffic between two outside peers is not ours to allow; drop the flow');
    }
    for (const [field, side] of [['from', flow.from], ['to', flow.to]] as const) {
      if (side.kind === 'component' && !components.includes(side)) {
        throw new ValidationError('INVALID_FLOW', at, `${field} is a component that does not exist in this deployment`,
          side.id, `enable the component or drop the flow (components: ${componentList(components)})`);
      }
      if (side.kind === 'peers') {
        if (side.peers.length === 0) {
          throw new ValidationError('INVALID_PEER', at, `${field} (${side.label}) lists no peer`, side.peers,
            'name at least one namespace or CIDR, or leave the option unset');
        }
        side.peers.forEach((peer, j) => validatePeer(at, `${field}.peers[${j}]`, peer, flow.allowAnyAddress === true));
      }
    }
    if (flow.ports.length === 0) {
      throw new ValidationError('INVALID_FLOW', at, 'the flow has no port', flow.ports, 'name the destination ports');
    }
    for (const port of flow.ports) {
      if (!Number.isInteger(port.port) || port.port < 1 || port.port > 65535 || !PROTOCOLS.includes(port.protocol)) {
        throw new ValidationError('INVALID_FLOW', at, 'ports must be 1-65535 with protocol TCP, UDP or SCTP',
          { port: port.port, protocol: port.protocol }, 'fix the port number or protocol');
      }
      const to = flow.to;
      if (to.kind === 'component' && !to.listens.some((l) => l.port === port.port && l.protocol === port.protocol)) {
        const listened = to.listens.map((l) => `${l.port}/${l.protocol}`).join(', ') || 'nothing';
        throw new ValidationError('INVALID_FLOW', at, `no one listens on this port of ${to.id}`,
          `${port.port}/${port.protocol}`, `use a port ${to.id} listens on (${listened})`);
      }
    }
  });
}
