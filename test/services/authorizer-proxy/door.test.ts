/**
 * The proxy's doors by configuration: with API keys and no identity provider a caller needs no client certificate;
 * with neither, TLS requires one. And the signing keys' endpoint: GET at its one path, nothing else.
 */
import { request as httpsRequest } from 'node:https';
import { Metadata, status } from '@grpc/grpc-js';
import { createApiKey } from '../../../lib/authorizer/api-keys';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { RunningProxy } from '../../../services/authorizer-proxy/proxy';
import { call, clientOf, proxy, request, standInFrontend, WORKFLOW } from './harness';
import { testPki, TestPki } from './test-pki';

const POLICY: AuthorizerPolicy = { rules: [
  { name: 'ci', apiKey: { owner: 'ci-deploy' }, grants: { orders: 'write' } },
  { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
] };

let pki: TestPki;
let frontend: Awaited<ReturnType<typeof standInFrontend>>;
let keysOnly: RunningProxy;
let certificatesOnly: RunningProxy;
const key = createApiKey('ci-1', 'ci-deploy', new Date(Date.now() + 86_400_000));

beforeAll(async () => {
  pki = await testPki();
  frontend = await standInFrontend(pki);
  ({ proxy: keysOnly } = await proxy(pki, frontend.port, POLICY, undefined, undefined,
    { apiKeysFile: pki.file('door-api-keys.json', JSON.stringify({ keys: [key.record] })) }));
  ({ proxy: certificatesOnly } = await proxy(pki, frontend.port, POLICY));
});

afterAll(async () => {
  await keysOnly?.close();
  await certificatesOnly?.close();
  await frontend?.stop();
});

const start = () => request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'w' });
const withKey = () => {
  const md = new Metadata();
  md.set('authorization', `Bearer ${key.key}`);
  return md;
};

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    httpsRequest({ host: '127.0.0.1', port, path, method, ca: pki.frontendCa.cert + pki.root.cert,
      servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject).end();
  });
}

describe('the proxy\'s doors', () => {
  it('does take an API key from a caller without a client certificate when API keys are configured', async () => {
    expect((await call(clientOf(pki, keysOnly.grpcPort), WORKFLOW('StartWorkflowExecution'), start(), withKey())).code).toBe(status.OK);
    expect((await call(clientOf(pki, keysOnly.grpcPort, pki.worker), WORKFLOW('StartWorkflowExecution'), start())).code).toBe(status.OK);
  });

  it('does require a client certificate at TLS when neither API keys nor an identity provider are configured', async () => {
    const refused = await call(clientOf(pki, certificatesOnly.grpcPort), WORKFLOW('StartWorkflowExecution'), start(), withKey());
    expect(refused.code).toBe(status.UNAVAILABLE);
    expect((await call(clientOf(pki, certificatesOnly.grpcPort, pki.worker), WORKFLOW('StartWorkflowExecution'), start())).code)
      .toBe(status.OK);
  });

  it('does publish its signing keys by GET at their one path, uncached, and nothing elsewhere', async () => {
    const jwks = await get(keysOnly.jwksPort, '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect([jwks.headers['content-type'], jwks.headers['cache-control']]).toEqual(['application/json', 'no-store']);
    expect(JSON.parse(jwks.body).keys.map((k: { kid: string }) => k.kid)).toContain(keysOnly.signer.kid);
    expect((await get(keysOnly.jwksPort, '/')).status).toBe(404);
    expect((await get(keysOnly.jwksPort, '/.well-known/jwks.json', 'POST')).status).toBe(404);
  });
});
