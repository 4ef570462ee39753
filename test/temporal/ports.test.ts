import {
  METRICS_PORT, PORT_NAMES, SERVICE_PORTS, ServicePorts, TEMPORAL_SERVICES, TemporalService, assertNoPortClash,
} from '../../lib/temporal/ports';
import { isPortName } from '../checks/api-rules';
import { expectValidationError } from '../util';

describe('SERVICE_PORTS', () => {
  it('does hold Temporal\'s default ports (change detector)', () => {
    expect(SERVICE_PORTS).toMatchSnapshot();
  });

  it('does list every service once', () => {
    expect(Object.keys(SERVICE_PORTS).sort()).toEqual([...TEMPORAL_SERVICES].sort());
  });

  it('does give every gRPC, membership and HTTP port its own number', () => {
    const ports = Object.values(SERVICE_PORTS).flatMap((p) => [p.grpc, p.membership, ...(p.http ? [p.http] : [])]);
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports).not.toContain(METRICS_PORT);
    expect(() => assertNoPortClash('test', SERVICE_PORTS)).not.toThrow();
  });

  it('does serve HTTP only on the frontends', () => {
    expect(TEMPORAL_SERVICES.filter((s) => SERVICE_PORTS[s].http !== undefined)).toEqual(['frontend', 'internal-frontend']);
  });

  it('does use port names Kubernetes accepts (IANA service names of at most 15 characters)', () => {
    for (const name of Object.values(PORT_NAMES)) {
      expect([name, isPortName(name)]).toEqual([name, true]);
    }
  });
});

describe('assertNoPortClash', () => {
  const table = (overrides: Partial<Record<TemporalService, ServicePorts>>) => ({ ...SERVICE_PORTS, ...overrides });

  it('fails when two services share a gRPC port', () => {
    const err = expectValidationError(() => assertNoPortClash('test/Cluster', table({
      history: { grpc: 7233, membership: 6934, metrics: METRICS_PORT },
    })), 'PORT_CLASH', { path: 'test/Cluster', value: '7233' });
    expect(err.message).toContain('history grpc port clashes with frontend grpc');
  });

  it('fails when a port takes the metrics port', () => {
    expectValidationError(() => assertNoPortClash('test/Cluster', table({
      worker: { grpc: 7239, membership: METRICS_PORT, metrics: METRICS_PORT },
    })), 'PORT_CLASH', { path: 'test/Cluster', value: String(METRICS_PORT) });
  });

  it.each([0, 65536, 7000.5])('fails when a port is %p', (port) => {
    expectValidationError(() => assertNoPortClash('test/Cluster', table({
      matching: { grpc: port, membership: 6935, metrics: METRICS_PORT },
    })), 'INVALID_PORT', { path: 'test/Cluster', value: String(port) });
  });
});
