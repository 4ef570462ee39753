/**
 * The proxy's own timer and protocol edges: it reads its files again at the interval it is given (not sooner), and its
 * gRPC port speaks HTTP/2 only.
 */
import { writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { connect } from 'node:tls';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { proxy, standInFrontend } from './harness';
import { testPki, TestPki } from './test-pki';

const POLICY: AuthorizerPolicy = { rules: [
  { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
] };
const MORE: AuthorizerPolicy = { rules: [...POLICY.rules, { name: 'more', certificate: { commonName: 'x' }, grants: { a: 'read' } }] };

let pki: TestPki;
let frontend: Awaited<ReturnType<typeof standInFrontend>>;

beforeAll(async () => {
  pki = await testPki();
  frontend = await standInFrontend(pki);
});

afterAll(async () => {
  await frontend?.stop();
});

/** A proxy whose log lines are collected, reading its files every `reloadSeconds`. */
async function logged(reloadSeconds: number) {
  const lines: Record<string, unknown>[] = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter((l) => l.startsWith('{'))
    .forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)));
  const started = await proxy(pki, frontend.port, POLICY, undefined, out, { reloadSeconds });
  return { ...started, lines };
}

describe('the proxy\'s reload timer', () => {
  it('does read a changed policy at its interval, without being asked', async () => {
    const { proxy: p, policyFile, lines } = await logged(1);
    try {
      writeFileSync(policyFile, JSON.stringify(MORE));
      for (let i = 0; i < 40 && !lines.some((l) => l.msg === 'policy reloaded'); i += 1) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(lines.find((l) => l.msg === 'policy reloaded')).toMatchObject({ rules: 2 });
    } finally {
      await p.close();
    }
  });

  it('does not read it sooner than its interval', async () => {
    const { proxy: p, policyFile, lines } = await logged(600);
    try {
      writeFileSync(policyFile, JSON.stringify(MORE));
      await new Promise((r) => setTimeout(r, 500));
      expect(lines.filter((l) => l.msg === 'policy reloaded')).toEqual([]);
    } finally {
      await p.close();
    }
  });
});

describe('the proxy\'s gRPC port', () => {
  it('does speak HTTP/2 only: a client that offers only HTTP/1.1 does not get a connection', async () => {
    const { proxy: p } = await logged(600);
    const handshake = (alpn: string[]) => new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: p.grpcPort, ca: pki.frontendCa.cert + pki.root.cert,
        servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', ALPNProtocols: alpn }, () => {
        resolve(`connected ${String(socket.alpnProtocol)}`);
        socket.destroy();
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(`refused ${e.code ?? e.message}`));
    });
    try {
      expect(await handshake(['h2'])).toBe('connected h2');
      expect(await handshake(['http/1.1'])).toMatch(/^refused /);
    } finally {
      await p.close();
    }
  });
});
