import { k8s } from 'cdk8s-plus-27';
import { Component, Flow, PeerGroup } from '../../lib/network/flows';
import { Peer } from '../../lib/core/peers';
import { networkPolicies } from '../../lib/network/policies';
import { validateFlowTable } from '../../lib/network/table';

const comp = (id: string, ports: number[] = [1000]): Component => ({ kind: 'component', id, selector: { c: id },
  listens: ports.map((port) => ({ name: `p${port}`, port, protocol: 'TCP' })) });
const tcp = (port: number) => ({ port, protocol: 'TCP' as const, name: `p${port}` });

describe('networkPolicies', () => {
  const [a, b] = [comp('a'), comp('b', [1000, 2000])];
  const outside: PeerGroup = { kind: 'peers', id: 'o', label: 'o', peers: [Peer.cidr('10.0.0.0/8', ['10.1.0.0/16'])] };
  const flows: Flow[] = [
    { from: a, to: b, ports: [tcp(1000)], category: 'rpc', purpose: 'x' },
    { from: b, to: b, ports: [tcp(1000)], category: 'rpc', purpose: 'self' },
    { from: outside, to: b, ports: [tcp(2000)], category: 'client', purpose: 'y' },
  ];
  const docs = networkPolicies('t', [a, b], flows);

  it('does start with a namespace-wide default deny', () => {
    expect(docs[0]).toEqual({ name: 't-default-deny', spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
  });

  it('does put a flow between components in the source egress and the destination ingress', () => {
    const [, pa, pb] = docs;
    expect(pa.spec.egress).toEqual([{ to: [{ podSelector: { matchLabels: { c: 'b' } } }], ports: [{ port: k8s.IntOrString.fromNumber(1000), protocol: 'TCP' }] }]);
    expect(pa.spec.ingress).toBeUndefined();
    expect(pa.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(pb.spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: { c: 'a' } } }, { podSelector: { matchLabels: { c: 'b' } } }],
        ports: [{ port: k8s.IntOrString.fromNumber(1000), protocol: 'TCP' }] },
      { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: k8s.IntOrString.fromNumber(2000), protocol: 'TCP' }] },
    ]);
  });
});

describe('validateFlowTable', () => {
  const a = comp('a');
  it('fails on duplicate component ids', () => {
    expect(() => validateFlowTable('T', [a, comp('a')], [])).toThrow(/two components share an id/);
  });

  it('fails on a flow from a component not in the deployment', () => {
    expect(() => validateFlowTable('T', [a], [{ from: comp('ghost'), to: a, ports: [tcp(1000)], category: 'rpc', purpose: 'x' }]))
      .toThrow(/from is a component that does not exist.*"ghost"/);
  });

  it('fails on an empty peer group', () => {
    const empty: PeerGroup = { kind: 'peers', id: 'e', label: 'clients', peers: [] };
    expect(() => validateFlowTable('T', [a], [{ from: empty, to: a, ports: [tcp(1000)], category: 'client', purpose: 'x' }]))
      .toThrow(/lists no peer/);
  });
});
