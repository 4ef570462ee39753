import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowDiagram, flowTableMarkdown } from '../../lib/network/diagram';
import { Component, Flow, PeerGroup } from '../../lib/network/flows';
import { Peer } from '../../lib/core/peers';
import { synthChart } from './fixtures';

const ROOT = join(__dirname, '..', '..');
const DOC = join(ROOT, 'docs', 'network-flows.md');

const comp = (id: string): Component => ({ kind: 'component', id, selector: { c: id },
  listens: [{ name: 'p', port: 1000, protocol: 'TCP' }] });
const port = { port: 1000, protocol: 'TCP' as const, name: 'p' };

describe('flowDiagram', () => {
  it('does match the committed docs/network-flows.md (regenerate with UPDATE_NETWORK_DOCS=1)', () => {
    const generated = synthChart().chart.network.document;
    if (process.env.UPDATE_NETWORK_DOCS === '1') {
      writeFileSync(DOC, generated);
    }
    expect(existsSync(DOC)).toBe(true);
    expect(readFileSync(DOC, 'utf8')).toBe(generated);
  });

  it('does write the same diagram next to the synthesized manifests (main.ts -> dist/network-flows.mmd)', () => {
    const out = mkdtempSync(join(tmpdir(), 'synth-'));
    try {
      execFileSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'main.ts')],
        { cwd: ROOT, env: { ...process.env, CDK8S_OUTDIR: out }, stdio: 'pipe' });
      const written = readFileSync(join(out, 'network-flows.mmd'), 'utf8');
      expect(written).toBe(synthChart().chart.network.diagram);
      expect(readFileSync(DOC, 'utf8')).toContain(written.trimEnd());
      expect(readFileSync(join(out, 'temporal.k8s.yaml'), 'utf8')).toContain('name: temporal-default-deny');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60000);

  it('does draw a full membership mesh as one note and fan-outs to all servers as one edge', () => {
    const diagram = synthChart({ authorizerProxy: false }).chart.network.diagram;
    expect(diagram).toContain('    subgraph servers["Temporal server services"]');
    expect(diagram).toContain('servers_membership{{"membership: every member to every member<br/>6933/TCP, 6934/TCP, 6935/TCP, 6939/TCP"}}');
    expect(diagram).toContain('p_monitoring -->|"9090/TCP<br/>Prometheus scrapes /metrics"| servers');
    expect(diagram).toContain('ns -->|"53/UDP, 53/TCP<br/>name resolution (cluster DNS only)"| p_dns');
    expect(diagram).toContain('c_history -->|"7233/TCP<br/>SDK client of the system workflows"| c_frontend');
    expect(diagram).not.toMatch(/c_\w+ -->\|"69\d\d/);
    const proxied = synthChart().chart.network.diagram;
    expect(proxied).toContain('servers_membership{{"membership: every member to every member<br/>6933/TCP, 6936/TCP, 6934/TCP, 6935/TCP, ' +
      '6939/TCP"}}');
    expect(proxied).toContain('c_history -->|"7236/TCP<br/>SDK client of the system workflows"| c_internal_frontend');
    expect(proxied).toContain('c_authorizer_proxy -->|"7233/TCP<br/>forwards authorized calls with the token it signs"| c_frontend');
  });

  it('does draw an irregular table flow by flow', () => {
    const [frontend, history] = [comp('frontend'), comp('history')];
    const clients: PeerGroup = { kind: 'peers', id: 'clients', label: 'client namespaces', peers: [Peer.namespace('a"b')] };
    const flows: Flow[] = [
      { from: frontend, to: history, ports: [port], category: 'membership', purpose: 'gossip' },
      { from: clients, to: frontend, ports: [port], category: 'client', purpose: 'calls' },
      { from: clients, to: frontend, ports: [{ ...port, port: 1001 }], category: 'client', purpose: 'more calls' },
    ];
    const diagram = flowDiagram('temporal', [frontend, history], flows);
    expect(diagram).not.toContain('_membership{{');
    expect(diagram).toContain('c_frontend -->|"1000/TCP<br/>gossip"| c_history');
    expect(diagram).toContain('p_clients -->|"1000/TCP, 1001/TCP<br/>calls; more calls"| c_frontend');
    expect(diagram).toContain('p_clients(["client namespaces (ns a#quot;b)"])');
  });

  it('does render the table with one row per flow', () => {
    const [a, b] = [comp('a'), comp('b')];
    expect(flowTableMarkdown([{ from: a, to: b, ports: [port], category: 'rpc', purpose: 'x | y' }]))
      .toBe('| From | To | Ports | Kind | Purpose |\n|---|---|---|---|---|\n| a | b | 1000/TCP | rpc | x \\| y |\n');
  });
});
