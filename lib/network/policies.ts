import { k8s } from 'cdk8s-plus-27';
import { Component, Flow, FlowEndpoint, FlowPort } from './flows';

/** One NetworkPolicy to create: its name and spec. */
export interface PolicyDocument {
  readonly name: string;
  /** The component it fences, or undefined for the namespace-wide default deny. */
  readonly component?: string;
  readonly spec: k8s.NetworkPolicySpec;
}

function peersOf(endpoint: FlowEndpoint): k8s.NetworkPolicyPeer[] {
  if (endpoint.kind === 'component') {
    // A podSelector alone selects pods in the policy's own namespace: the Temporal namespace.
    return [{ podSelector: { matchLabels: { ...endpoint.selector } } }];
  }
  return endpoint.peers.map((peer): k8s.NetworkPolicyPeer => {
    if (peer.kind === 'cidr') {
      return { ipBlock: { cidr: peer.cidr, ...(peer.except && peer.except.length > 0 ? { except: [...peer.except] } : {}) } };
    }
    return {
      namespaceSelector: { matchLabels: { ...peer.namespaceLabels } },
      ...(peer.podLabels !== undefined ? { podSelector: { matchLabels: { ...peer.podLabels } } } : {}),
    };
  });
}

function portKey(ports: readonly FlowPort[]): string {
  return [...new Set(ports.map((p) => `${p.port}/${p.protocol}`))].sort().join(',');
}

function policyPorts(ports: readonly FlowPort[]): k8s.NetworkPolicyPort[] {
  const seen = new Set<string>();
  const out: k8s.NetworkPolicyPort[] = [];
  for (const p of ports) {
    const key = `${p.port}/${p.protocol}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol });
    }
  }
  return out;
}

interface Rule {
  readonly peers: k8s.NetworkPolicyPeer[];
  readonly ports: k8s.NetworkPolicyPort[];
}

/**
 * Rules for one direction of one component: flows with the same destination ports share a rule (a rule
 * admits any of its peers on any of its ports, so merging flows of equal ports admits exactly their
 * union). Order follows the table; peers are deduplicated.
 */
function rules(flows: readonly Flow[], peerSide: (flow: Flow) => FlowEndpoint): Rule[] {
  const byPorts = new Map<string, { peers: k8s.NetworkPolicyPeer[]; keys: Set<string>; ports: k8s.NetworkPolicyPort[] }>();
  for (const flow of flows) {
    const key = portKey(flow.ports);
    let rule = byPorts.get(key);
    if (rule === undefined) {
      rule = { peers: [], keys: new Set(), ports: policyPorts(flow.ports) };
      byPorts.set(key, rule);
    }
    for (const peer of peersOf(peerSide(flow))) {
      const peerKey = JSON.stringify(peer);
      if (!rule.keys.has(peerKey)) {
        rule.keys.add(peerKey);
        rule.peers.push(peer);
      }
    }
  }
  return [...byPorts.values()].map(({ peers, ports }) => ({ peers, ports }));
}

/**
 * The NetworkPolicies of the boundary. Pure and deterministic:
 * - `<instance>-default-deny` selects every pod of the namespace for Ingress and Egress and admits
 *   nothing, so a pod no flow names (one added later by hand, say) is fenced too;
 * - `<instance>-<component>` per component admits exactly the table's flows into it (ingress) and out
 *   of it (egress); a flow between two components appears in both policies, as Kubernetes requires.
 */
export function networkPolicies(instance: string, components: readonly Component[], flows: readonly Flow[]): PolicyDocument[] {
  const documents: PolicyDocument[] = [{
    name: `${instance}-default-deny`,
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  }];
  for (const component of components) {
    const ingress = rules(flows.filter((f) => f.to === component), (f) => f.from)
      .map((r): k8s.NetworkPolicyIngressRule => ({ from: r.peers, ports: r.ports }));
    const egress = rules(flows.filter((f) => f.from === component), (f) => f.to)
      .map((r): k8s.NetworkPolicyEgressRule => ({ to: r.peers, ports: r.ports }));
    documents.push({
      name: `${instance}-${component.id}`,
      component: component.id,
      spec: {
        podSelector: { matchLabels: { ...component.selector } },
        policyTypes: ['Ingress', 'Egress'],
        ...(ingress.length > 0 ? { ingress } : {}),
        ...(egress.length > 0 ? { egress } : {}),
      },
    });
  }
  return documents;
}
