import { ComponentGroup } from '../core/component';
import { describePeer } from '../core/peers';
import { Component, Flow, FlowEndpoint, FlowPort } from './flows';

const NAMESPACE_ID = 'ns';

function sanitize(id: string): string {
  return id.replace(/[^A-Za-z0-9]/g, '_');
}

function nodeId(endpoint: FlowEndpoint): string {
  return endpoint.kind === 'component' ? `c_${sanitize(endpoint.id)}` : `p_${sanitize(endpoint.id)}`;
}

function text(value: string): string {
  return value.replace(/"/g, '#quot;');
}

function portsText(ports: readonly FlowPort[]): string {
  return [...new Set(ports.map((p) => `${p.port}/${p.protocol}`))].join(', ');
}

/** Display text of an endpoint in tables: a component's id, or a peer group's label and peers. */
export function endpointText(endpoint: FlowEndpoint): string {
  if (endpoint.kind === 'component') {
    return endpoint.id;
  }
  const peers = endpoint.peers.map(describePeer).join('; ');
  return peers === endpoint.label ? peers : `${endpoint.label} (${peers})`;
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly ports: string[];
  readonly purposes: string[];
}

/**
 * A Mermaid flowchart of the allowed flows. Pure and deterministic. Components that share a group (the
 * Temporal server services) are drawn in a box of their own. To stay readable it draws a full membership
 * mesh inside a group as one note, DNS from every component as one edge from the namespace, and a flow that
 * reaches (or leaves) every member of a group with the same ports as one edge to (or from) the group's box;
 * anything less regular is drawn flow by flow.
 */
export function flowDiagram(namespace: string, components: readonly Component[], flows: readonly Flow[]): string {
  const groups: ComponentGroup[] = [];
  for (const c of components) {
    if (c.group && !groups.some((g) => g.id === c.group?.id)) {
      groups.push(c.group);
    }
  }
  const members = (group: ComponentGroup): Component[] => components.filter((c) => c.group?.id === group.id);
  const memberOf = (group: ComponentGroup, endpoint: FlowEndpoint): boolean =>
    endpoint.kind === 'component' && endpoint.group?.id === group.id;
  const loose = components.filter((c) => c.group === undefined);
  const peers: FlowEndpoint[] = [];
  for (const flow of flows) {
    for (const side of [flow.from, flow.to]) {
      if (side.kind === 'peers' && !peers.some((p) => nodeId(p) === nodeId(side))) {
        peers.push(side);
      }
    }
  }
  let remaining = [...flows];

  // 1. Membership: a full mesh over a group becomes a note inside its box.
  const meshNotes = new Map<string, string>();
  for (const group of groups) {
    const inside = members(group);
    const mesh = remaining.filter((f) => f.category === 'membership' && memberOf(group, f.from) && memberOf(group, f.to));
    const fullMesh = mesh.length === inside.length * inside.length &&
      inside.every((a) => inside.every((b) => mesh.some((f) => f.from === a && f.to === b)));
    if (inside.length > 0 && fullMesh) {
      meshNotes.set(group.id, `${sanitize(group.id)}_membership{{"membership: every member to every member<br/>` +
        `${portsText(mesh.flatMap((f) => f.ports))}"}}`);
      remaining = remaining.filter((f) => !mesh.includes(f));
    }
  }

  const edges: Edge[] = [];
  const addEdge = (from: string, to: string, ports: readonly FlowPort[], purpose: string): void => {
    let edge = edges.find((e) => e.from === from && e.to === to);
    if (edge === undefined) {
      edge = { from, to, ports: [], purposes: [] };
      edges.push(edge);
    }
    for (const p of portsText(ports).split(', ')) {
      if (!edge.ports.includes(p)) {
        edge.ports.push(p);
      }
    }
    if (!edge.purposes.includes(purpose)) {
      edge.purposes.push(purpose);
    }
  };

  // 2. DNS from every component, same destination and ports: one edge from the namespace.
  const dns = remaining.filter((f) => f.category === 'dns');
  if (dns.length > 0 && components.every((c) => dns.some((f) => f.from === c)) &&
    dns.every((f) => f.to === dns[0].to && portsText(f.ports) === portsText(dns[0].ports)) &&
    dns.length === components.length) {
    addEdge(NAMESPACE_ID, nodeId(dns[0].to), dns[0].ports, dns[0].purpose);
    remaining = remaining.filter((f) => !dns.includes(f));
  }

  // 3. Fan-out to / fan-in from every member of a group with the same ports and purpose: one edge to / from the box.
  for (const group of groups) {
    const inside = members(group);
    const box = sanitize(group.id);
    for (const direction of ['to', 'from'] as const) {
      const other = direction === 'to' ? 'from' : 'to';
      const fans = new Map<string, Flow[]>();
      for (const f of remaining) {
        if (inside.length > 1 && memberOf(group, f[direction])) {
          const key = `${nodeId(f[other])}|${f.category}|${f.purpose}|${portsText(f.ports)}`;
          fans.set(key, [...(fans.get(key) ?? []), f]);
        }
      }
      for (const fan of fans.values()) {
        const covered = inside.every((s) => fan.some((f) => f[direction] === s));
        if (covered && fan.length === inside.length) {
          const [first] = fan;
          const from = direction === 'to' ? nodeId(first.from) : box;
          const to = direction === 'to' ? box : nodeId(first.to);
          addEdge(from, to, first.ports, first.purpose);
          remaining = remaining.filter((f) => !fan.includes(f));
        }
      }
    }
  }

  // 4. Everything else, one edge per (from, to).
  for (const f of remaining) {
    addEdge(nodeId(f.from), nodeId(f.to), f.ports, f.purpose);
  }

  const node = (c: Component): string => {
    const shape = c.datastore ? ['[("', '")]'] : ['["', '"]'];
    return `${nodeId(c)}${shape[0]}${text(c.id)}${shape[1]}`;
  };
  const lines = [
    '%% Generated from the flows table (lib/network/diagram.ts). Do not edit.',
    'flowchart LR',
    `  subgraph ${NAMESPACE_ID}["namespace ${text(namespace)}: default deny, ingress and egress"]`,
    ...groups.flatMap((group) => [
      `    subgraph ${sanitize(group.id)}["${text(group.label)}"]`,
      ...members(group).map((c) => `      ${node(c)}`),
      ...(meshNotes.has(group.id) ? [`      ${meshNotes.get(group.id)}`] : []),
      '    end',
    ]),
    ...loose.map((c) => `    ${node(c)}`),
    '  end',
    ...peers.map((p) => `  ${nodeId(p)}(["${text(endpointText(p))}"])`),
    ...edges.map((e) => `  ${e.from} -->|"${text(e.ports.join(', '))}<br/>${text(e.purposes.join('; '))}"| ${e.to}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The flows table as Markdown rows. Pure. */
export function flowTableMarkdown(flows: readonly Flow[]): string {
  const cell = (value: string): string => value.replace(/\|/g, '\\|');
  const rows = flows.map((f) => `| ${cell(endpointText(f.from))} | ${cell(endpointText(f.to))} | ` +
    `${portsText(f.ports)} | ${f.category} | ${cell(f.purpose)} |`);
  return ['| From | To | Ports | Kind | Purpose |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The components as Markdown rows: what each runs, listens on, and the certificates it serves and presents. Pure. */
export function componentTableMarkdown(components: readonly Component[]): string {
  const list = (values: readonly string[]): string => (values.length > 0 ? values.join(', ') : '-');
  const rows = components.map((c) => `| ${c.id} | ${list(Object.entries(c.selector).map(([k, v]) => `${k}=${v}`))} | ` +
    `${list(c.listens.map((l) => `${l.name} ${l.port}/${l.protocol}`))} | ${list((c.serves ?? []).map((i) => i.secretName))} | ` +
    `${list((c.presents ?? []).map((i) => i.secretName))} |`);
  return ['| Component | Pods | Listens | Serves (Secret) | Presents (Secret) |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The generated docs page: the diagram, the components and the full table. Pure. */
export function flowsDocument(namespace: string, components: readonly Component[], flows: readonly Flow[]): string {
  return [
    '# Allowed network flows (generated)',
    '',
    '<!-- Generated from the flows table of the default deployment by lib/network/diagram.ts. Do not edit:',
    '     UPDATE_NETWORK_DOCS=1 npx jest test/network/diagram.test.ts --selectProjects unit -->',
    '',
    'Every connection the default deployment (`main.ts`) allows. Everything else is denied, ingress and egress,',
    'for every pod of the namespace. Why each flow exists, and how to change the set: [NETWORK.md](NETWORK.md).',
    '',
    '```mermaid',
    flowDiagram(namespace, components, flows).trimEnd(),
    '```',
    '',
    '## Components',
    '',
    componentTableMarkdown(components).trimEnd(),
    '',
    '## Flows',
    '',
    flowTableMarkdown(flows).trimEnd(),
    '',
  ].join('\n');
}
