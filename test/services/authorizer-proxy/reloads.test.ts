/** What the proxy does and says when its files change: the serving certificate served on both ports, the log lines. */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { connect } from 'node:tls';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { call, clientOf, proxy, rawFrontend, request, standInFrontend, WORKFLOW } from './harness';
import { signingKeyPem } from './signing-key';
import { issue, testPki } from './test-pki';

const POLICY: AuthorizerPolicy = { rules: [
  { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
] };

/** The fingerprint of the certificate a TLS server on `port` presents. */
function served(port: number, ca: string, alpn?: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local',
      ...(alpn ? { ALPNProtocols: alpn } : {}) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

describe('the proxy reloading its files', () => {
  it('does serve a renewed certificate on the gRPC and the signing keys\' ports, and say what it reloaded', async () => {
    const pki = await testPki();
    const fe = await standInFrontend(pki);
    const out = new PassThrough();
    const lines: Record<string, unknown>[] = [];
    out.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter((l) => l.startsWith('{'))
      .forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)));
    const { proxy: p, policyFile, keyFile } = await proxy(pki, fe.port, POLICY, undefined, out);
    const ca = pki.frontendCa.cert + pki.root.cert;
    try {
      const before = await served(p.grpcPort, ca, ['h2']);
      expect(await served(p.jwksPort, ca)).toBe(before);
      const renewed = await issue({ commonName: 'temporal-authorizer-proxy.temporal.svc.cluster.local',
        dnsNames: ['temporal-authorizer-proxy.temporal.svc.cluster.local'], ipAddresses: ['127.0.0.1'],
        usages: ['digital signature', 'server auth'] }, pki.frontendCa);
      writeFileSync(`${pki.dir}/proxy.crt`, renewed.cert + pki.frontendCa.cert);
      writeFileSync(`${pki.dir}/proxy.key`, renewed.key);
      writeFileSync(policyFile, JSON.stringify({ rules: [...POLICY.rules, { name: 'more', certificate: { commonName: 'x' }, grants: { a: 'read' } }] }));
      writeFileSync(keyFile, signingKeyPem());
      await p.reload();
      const after = await served(p.grpcPort, ca, ['h2']);
      expect(after).not.toBe(before);
      expect(await served(p.jwksPort, ca)).toBe(after);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(lines.find((l) => l.msg === 'policy reloaded')).toMatchObject({ what: 'policy', rules: 2 });
      expect(lines.find((l) => l.msg === 'serving certificate reloaded')).toMatchObject({ what: 'serving certificate' });
      expect(lines.find((l) => l.msg === 'serving certificate reloaded')).not.toHaveProperty('rules');
      expect(lines.find((l) => l.msg === 'signing key rotated')).toMatchObject({ kid: p.signer.jwks().keys.map((k) => k.kid) });
      expect(p.signer.jwks().keys).toHaveLength(2);
      writeFileSync(policyFile, '{"rules": [');
      await p.reload();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(lines.find((l) => l.what === 'policy' && l.level !== undefined && String(l.msg).includes('not reloaded')))
        .toMatchObject({ msg: 'policy not reloaded: the new policy is invalid; the previous one stays', err: expect.any(String) });
      expect(p.policy().rules).toHaveLength(2);
    } finally {
      await p.close();
      await fe.stop();
    }
  });

  it('does present a renewed client certificate to the frontend on new calls, and report one it cannot read', async () => {
    const pki = await testPki();
    const fe = await rawFrontend(pki);
    const { proxy: p } = await proxy(pki, fe.port, POLICY);
    const fingerprint = (cert: string) => new X509Certificate(cert).fingerprint256;
    const describe = () => call(clientOf(pki, p.grpcPort, pki.worker), WORKFLOW('DescribeNamespace'),
      request('DescribeNamespaceRequest', { namespace: 'orders' }));
    try {
      expect((await describe()).code).toBe(0);
      expect(fe.seen.at(-1)?.peer).toBe(fingerprint(pki.proxyClient.cert));
      // Another platform-clients certificate in the client certificate's files.
      writeFileSync(`${pki.dir}/client.crt`, pki.web.cert + pki.platformCa.cert);
      writeFileSync(`${pki.dir}/client.key`, pki.web.key);
      await p.reload();
      expect((await describe()).code).toBe(0);
      expect(fe.seen.at(-1)?.peer).toBe(fingerprint(pki.web.cert));
      writeFileSync(`${pki.dir}/client.key`, 'not a key');
      await p.reload();
      expect(await p.metrics.registry.getSingleMetricAsString('authorizer_proxy_reload_failures_total'))
        .toMatch(/^authorizer_proxy_reload_failures_total\{what="client certificate"\} 1$/m);
      const health = await (await fetch(`http://127.0.0.1:${p.httpPort}/healthz`)).json() as { reloadFailures?: string[] };
      expect(health.reloadFailures).toEqual(['client certificate']);
      // The certificate in force stays.
      expect((await describe()).code).toBe(0);
      expect(fe.seen.at(-1)?.peer).toBe(fingerprint(pki.web.cert));
    } finally {
      await p.close();
      await new Promise<void>((resolve) => fe.server.close(() => resolve()));
    }
  });

  it('does report a serving certificate it cannot read under that name, and reload nothing else that is not there', async () => {
    const pki = await testPki();
    const fe = await rawFrontend(pki);
    const { proxy: p } = await proxy(pki, fe.port, POLICY);
    try {
      await p.reload();
      const healthy = await (await fetch(`http://127.0.0.1:${p.httpPort}/healthz`)).json() as { reloadFailures?: string[] };
      expect(healthy.reloadFailures).toBeUndefined();
      writeFileSync(`${pki.dir}/proxy.key`, 'not a key');
      await p.reload();
      const health = await (await fetch(`http://127.0.0.1:${p.httpPort}/healthz`)).json() as { reloadFailures?: string[] };
      expect(health.reloadFailures).toEqual(['serving certificate']);
      // Still unreadable at the next reload: still reported.
      await p.reload();
      const again = await (await fetch(`http://127.0.0.1:${p.httpPort}/healthz`)).json() as { reloadFailures?: string[] };
      expect(again.reloadFailures).toEqual(['serving certificate']);
    } finally {
      await p.close();
      await new Promise<void>((resolve) => fe.server.close(() => resolve()));
    }
  });
});
