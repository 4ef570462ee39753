/** What the proxy does and says when its files change: the serving certificate served on both ports, the log lines. */
import { writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { connect } from 'node:tls';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { proxy, standInFrontend } from './harness';
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
});
