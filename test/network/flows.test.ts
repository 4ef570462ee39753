import { dnsFlows, metricsFlows, PeerGroup, serverComponent, serverFlows } from '../../lib/network/flows';
import { Peer } from '../../lib/network/peers';

const servers = (ids: readonly ('frontend' | 'internal-frontend' | 'history' | 'matching' | 'worker')[]) =>
  Object.fromEntries(ids.map((id) => [id, serverComponent(id, { component: id })]));
const pairs = (flows: ReturnType<typeof serverFlows>, category: string) =>
  flows.filter((f) => f.category === category).map((f) => `${f.from.kind === 'component' ? f.from.id : ''}>` +
    `${f.to.kind === 'component' ? f.to.id : ''}:${f.ports.map((p) => p.port).join(',')}`);

describe('serverFlows', () => {
  it('does connect every server to every server on the destination membership port', () => {
    const flows = serverFlows(servers(['frontend', 'history', 'matching', 'worker']), 'frontend');
    const mesh = pairs(flows, 'membership');
    expect(mesh).toHaveLength(16);
    expect(mesh).toContain('worker>history:6934');
    expect(mesh).toContain('history>history:6934');
    expect(flows.every((f) => f.ports.length === 1)).toBe(true);
  });

  it('does send the system SDK clients to the frontend, or to internal-frontend when it exists', () => {
    expect(pairs(serverFlows(servers(['frontend', 'history', 'matching', 'worker']), 'frontend'), 'system-client'))
      .toEqual(['frontend>frontend:7233', 'history>frontend:7233', 'worker>frontend:7233']);
    expect(pairs(serverFlows(servers(['frontend', 'internal-frontend', 'history', 'matching', 'worker']), 'internal-frontend'),
      'system-client')).toEqual(['frontend>internal-frontend:7236', 'internal-frontend>internal-frontend:7236',
      'history>internal-frontend:7236', 'worker>internal-frontend:7236']);
  });

  it('does give the worker service no inbound gRPC (it serves health checks only)', () => {
    const flows = serverFlows(servers(['frontend', 'history', 'matching', 'worker']), 'frontend');
    expect(flows.filter((f) => f.to.kind === 'component' && f.to.id === 'worker' && f.category !== 'membership')).toEqual([]);
  });

  it('does leave out RPCs of absent services', () => {
    const rpc = pairs(serverFlows(servers(['frontend', 'history']), 'frontend'), 'rpc');
    expect(rpc).toEqual(['frontend>history:7234', 'history>history:7234']);
  });
});

describe('dnsFlows and metricsFlows', () => {
  const group = (id: string): PeerGroup => ({ kind: 'peers', id, label: id, peers: [Peer.namespace(id)] });

  it('does allow DNS over UDP and TCP on the given port from each component', () => {
    const flows = dnsFlows([serverComponent('history', { c: 'h' })], group('dns'), 5353);
    expect(flows.map((f) => f.ports.map((p) => `${p.port}/${p.protocol}`))).toEqual([['5353/UDP', '5353/TCP']]);
  });

  it('does admit monitoring to each server\'s metrics port', () => {
    const flows = metricsFlows(group('monitoring'), [serverComponent('matching', { c: 'm' })]);
    expect(flows.map((f) => f.ports[0].port)).toEqual([9090]);
  });
});
