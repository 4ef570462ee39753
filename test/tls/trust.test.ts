import {
  assertClientTrusted, assertServerNameInSans, CertificateView, clientConnection, frontendClientCas, sanCovers, ServerView, trustGraph,
} from '../../lib/tls/trust';
import { tlsFixture } from './fixtures';
import { expectTlsError } from './pem';

const client = (issuedBy: CertificateView['issuedBy'], usages = ['digital signature', 'client auth']): CertificateView => ({
  path: `Test/${issuedBy}-client`, name: `${issuedBy}-client`, issuedBy, dnsNames: [], usages,
});

const server: ServerView = {
  path: 'Test/frontend', name: 'frontend', issuedBy: 'frontend', usages: ['digital signature', 'server auth'],
  dnsNames: ['temporal-frontend', 'temporal-frontend.temporal.svc.cluster.local', '*.temporal.example.com'],
  serverName: 'temporal-frontend.temporal.svc.cluster.local',
  acceptsClientsFrom: ['internode', 'platform-clients'],
};

describe('trust model', () => {
  it('does make one decision for who may present a certificate to the frontend', () => {
    expect(frontendClientCas('direct')).toEqual(['internode', 'platform-clients', 'workload']);
    expect(frontendClientCas('authorizer-proxy')).toEqual(['internode', 'platform-clients']);
    expectTlsError(() => frontendClientCas('open' as never), 'INVALID_TLS', /frontendAccess/);
  });

  it('does describe every listener by the CA that serves it and the CAs it accepts, never the root', () => {
    expect(trustGraph('direct')).toEqual({
      internode: { servedBy: 'internode', acceptsClientsFrom: ['internode'] },
      frontend: { servedBy: 'frontend', acceptsClientsFrom: ['internode', 'platform-clients', 'workload'] },
    });
    expect(trustGraph('authorizer-proxy').frontend.acceptsClientsFrom).not.toContain('workload');
  });

  it('does match SANs like TLS host verification (one wildcard label, no deeper)', () => {
    expect(sanCovers('a.example.com', 'A.Example.com')).toBe(true);
    expect(sanCovers('*.example.com', 'a.example.com')).toBe(true);
    expect(sanCovers('*.example.com', 'a.b.example.com')).toBe(false);
    expect(sanCovers('*.example.com', 'example.com')).toBe(false);
    expect(sanCovers('a.example.com', 'b.example.com')).toBe(false);
  });

  it('does return the server name and the CA that verifies the server for a trusted edge', () => {
    expect(clientConnection(client('platform-clients'), server)).toEqual({
      serverName: server.serverName, serverCa: 'frontend', clientCa: 'platform-clients',
    });
    expect(clientConnection(client('internode'), server, 'ui.temporal.example.com').serverName).toBe('ui.temporal.example.com');
  });

  it('fails when a serverName is not among the SANs of the certificate the server presents', () => {
    const error = expectTlsError(() => assertServerNameInSans(server, 'temporal-frontend.temporal.svc'), 'TLS_SERVER_NAME_MISMATCH',
      /serverName is not among the DNS names of the "frontend" certificate/);
    expect(error.path).toBe('Test/frontend');
    expectTlsError(() => clientConnection(client('internode'), server, 'temporal.example.com'), 'TLS_SERVER_NAME_MISMATCH');
  });

  it('fails when a client\'s issuing CA is not trusted by the server it talks to', () => {
    expectTlsError(() => assertClientTrusted(client('workload'), server), 'TLS_UNTRUSTED_CLIENT',
      /issued by the workload CA, which the "frontend" listener does not trust \(it accepts: internode, platform-clients\)/);
    expectTlsError(() => clientConnection(client('frontend'), server), 'TLS_UNTRUSTED_CLIENT');
    expectTlsError(() => assertClientTrusted(client('internode'), { ...server, acceptsClientsFrom: [] }), 'TLS_UNTRUSTED_CLIENT',
      /accepts: no client certificates/);
  });

  it('fails when a certificate lacks the usage its side of the connection needs', () => {
    expectTlsError(() => clientConnection(client('internode', ['digital signature', 'server auth']), server), 'INVALID_TLS',
      /lacks the "client auth" usage/);
    expectTlsError(() => clientConnection(client('internode'), { ...server, usages: ['digital signature', 'client auth'] }), 'INVALID_TLS',
      /lacks the "server auth" usage/);
  });

  it('does hold for the real identities: workloads reach the frontend directly, never the internode listener', () => {
    const direct = tlsFixture();
    expect(clientConnection(direct.worker, direct.frontend.asServer()).serverCa).toBe('frontend');
    expect(clientConnection(direct.web, direct.frontend.asServer()).clientCa).toBe('platform-clients');
    expectTlsError(() => clientConnection(direct.worker, direct.internode.asServer()), 'TLS_UNTRUSTED_CLIENT');
    expectTlsError(() => clientConnection(direct.adminTools, direct.internode.asServer()), 'TLS_UNTRUSTED_CLIENT');
    const proxied = tlsFixture({}, { access: 'authorizer-proxy' });
    expectTlsError(() => clientConnection(proxied.worker, proxied.frontend.asServer()), 'TLS_UNTRUSTED_CLIENT');
    expect(clientConnection(proxied.internode, proxied.frontend.asServer()).serverName).toBe(proxied.frontend.serverName);
  });
});
