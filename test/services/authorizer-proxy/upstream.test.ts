/**
 * The proxy's sessions to the frontend, against an HTTP/2 server on loopback that requires the proxy's client
 * certificate: the pool, reloads of the certificate files, a frontend going away or going silent, closing.
 */
import { createSecureServer, Http2SecureServer, ServerHttp2Session } from 'node:http2';
import { AddressInfo, createServer as createTcpServer, Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { Upstream, UpstreamOptions } from '../../../services/authorizer-proxy/upstream';
import { issue, testPki, TestPki } from './test-pki';

let pki: TestPki;
let server: Http2SecureServer;
let port: number;
const sessions: ServerHttp2Session[] = [];

beforeAll(async () => {
  pki = await testPki();
  server = createSecureServer({ cert: pki.frontendServer.cert + pki.frontendCa.cert, key: pki.frontendServer.key, ca: pki.root.cert,
    requestCert: true, rejectUnauthorized: true });
  server.on('session', (s) => sessions.push(s));
  // `/hold` is a call the frontend has not answered yet (a long poll): its stream stays open.
  server.on('stream', (stream, headers) => {
    if (headers[':path'] !== '/hold') {
      stream.respond({ ':status': 200 }, { endStream: true });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of sessions) {
    s.destroy();
  }
  await new Promise((resolve) => server.close(resolve));
});

jest.setTimeout(20_000);

function upstream(options: Partial<UpstreamOptions> = {}): Upstream {
  return new Upstream({ address: `127.0.0.1:${port}`, serverName: 'temporal-frontend.temporal.svc.cluster.local',
    caFiles: [pki.file('up-frontend-ca.crt', pki.frontendCa.cert)],
    certFile: options.certFile ?? pki.file('up-client.crt', pki.proxyClient.cert + pki.platformCa.cert),
    keyFile: pki.file('up-client.key', pki.proxyClient.key), ...options });
}

/**
 * A TCP relay between the proxy and the frontend: `pass(chunk, to)` hands each chunk on (at once, later, or not at all),
 * in both directions; `fromFrontend` tells which way it goes.
 */
async function relay(pass: (chunk: Buffer, to: Socket, fromFrontend: boolean) => void): Promise<{ address: string; stop(): void }> {
  const sockets: Socket[] = [];
  const server = createTcpServer((client) => {
    const frontend = new Socket();
    frontend.connect(port, '127.0.0.1');
    sockets.push(client, frontend);
    client.on('data', (d: Buffer) => pass(d, frontend, false));
    frontend.on('data', (d: Buffer) => pass(d, client, true));
    [client, frontend].forEach((x) => x.on('error', () => undefined));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => {
      sockets.forEach((x) => x.destroy());
      server.close();
    },
  };
}

/** A call that stays open on `session` (the frontend does not answer it). */
function hold(session: ReturnType<Upstream['session']>): void {
  const req = session.request({ ':path': '/hold' });
  req.on('error', () => undefined);
  req.end();
}

/** One request over `session`: the frontend's status. */
function get(session: ReturnType<Upstream['session']>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', reject);
    req.setTimeout(5_000, () => reject(new Error('no answer within 5 s')));
    req.end();
  });
}

describe('Upstream', () => {
  it('does spread calls over a pool of sessions, round robin, two by default', async () => {
    const two = upstream();
    const [a, b, c] = [two.session(), two.session(), two.session()];
    expect(a).not.toBe(b);
    expect(c).toBe(a);
    expect(await Promise.all([get(a), get(b)])).toEqual([200, 200]);
    two.close();
    const three = upstream({ poolSize: 3 });
    const made = [three.session(), three.session(), three.session(), three.session()];
    expect(new Set(made).size).toBe(3);
    expect(made[3]).toBe(made[0]);
    three.close();
  });

  it('does open a new session where one closed or went away', async () => {
    const up = upstream({ poolSize: 1 });
    const first = up.session();
    expect(await get(first)).toBe(200);
    first.destroy();
    await new Promise((r) => setImmediate(r));
    const second = up.session();
    expect(second).not.toBe(first);
    expect(await get(second)).toBe(200);
    // The frontend goes away (a rollout) while a long poll is still open on the session: the session takes no new
    // call (Node marks it closed on the GOAWAY), so new calls go over a new one; the poll is not cut.
    hold(second);
    await new Promise((r) => setTimeout(r, 50));
    const goingAway = sessions[sessions.length - 1];
    goingAway.goaway();
    await new Promise((r) => setTimeout(r, 100));
    expect([second.closed, second.destroyed]).toEqual([true, false]);
    const third = up.session();
    expect(third).not.toBe(second);
    expect(await get(third)).toBe(200);
    up.close();
  });

  it('does trust every certificate of every CA file: the frontend CA in the second file (a rollover\'s other key slot)', async () => {
    // The first file holds another CA, with no newline at its end: the files are still read as one bundle of both.
    const other = await issue({ commonName: 'temporal frontend CA 2', isCA: true, usages: ['cert sign', 'crl sign', 'digital signature'] });
    const first = pki.file('up-slot-1.crt', other.cert.trimEnd());
    const second = pki.file('up-slot-2.crt', pki.frontendCa.cert);
    const both = upstream({ caFiles: [first, second] });
    expect(await get(both.session())).toBe(200);
    both.close();
    // With the other CA alone the frontend's certificate is refused: the second file is what verified it.
    const alone = upstream({ caFiles: [first] });
    await expect(get(alone.session())).rejects.toThrow();
    alone.close();
  });

  it('does keep its sessions while the certificate files stay the same, and move new calls to new ones when they change', async () => {
    const certFile = pki.file('up-rotating.crt', pki.proxyClient.cert + pki.platformCa.cert);
    const keyFile = pki.file('up-rotating.key', pki.proxyClient.key);
    const up = upstream({ poolSize: 1, drainMs: 100, certFile, keyFile });
    const before = up.session();
    expect(await get(before)).toBe(200);
    // A long poll open on it: the session is drained, not cut, when the files change.
    hold(before);
    expect(up.reload()).toBe(false);
    expect(up.session()).toBe(before);
    const renewed = await issue({ commonName: 'proxy', usages: ['digital signature', 'client auth'],
      uris: ['spiffe://cluster.local/ns/temporal/temporal-platform/authorizer-proxy'] }, pki.platformCa);
    writeFileSync(certFile, renewed.cert + pki.platformCa.cert);
    writeFileSync(pki.file('up-rotating.key', renewed.key), renewed.key);
    expect(up.reload()).toBe(true);
    const after = up.session();
    expect(after).not.toBe(before);
    expect(await get(after)).toBe(200);
    // The old session is closed for new calls, and destroyed once the drain time is over.
    expect([before.closed, before.destroyed]).toEqual([true, false]);
    await new Promise((r) => setTimeout(r, 300));
    expect(before.destroyed).toBe(true);
    up.close();
  });

  it('does destroy every session, retired ones too, when closed, and refuse new calls', async () => {
    const certFile = pki.file('up-closing.crt', pki.proxyClient.cert + pki.platformCa.cert);
    const up = upstream({ poolSize: 2, drainMs: 60_000, certFile });
    const [a, b] = [up.session(), up.session()];
    await Promise.all([get(a), get(b)]);
    writeFileSync(certFile, `${pki.proxyClient.cert}${pki.platformCa.cert}\n`);
    expect(up.reload()).toBe(true);
    const c = up.session();
    up.close();
    expect([a.destroyed, b.destroyed, c.destroyed]).toEqual([true, true, true]);
    expect(() => up.session()).toThrow('the upstream is closed');
  });

  it('does reload the certificate files with slots of its pool still empty', async () => {
    const certFile = pki.file('up-partial.crt', pki.proxyClient.cert + pki.platformCa.cert);
    const up = upstream({ poolSize: 3, drainMs: 100, certFile });
    const only = up.session();
    expect(await get(only)).toBe(200);
    writeFileSync(certFile, `${pki.proxyClient.cert}${pki.platformCa.cert}\n`);
    expect(up.reload()).toBe(true);
    expect(only.closed).toBe(true);
    expect(await get(up.session())).toBe(200);
    up.close();
  });

  it('does destroy a session whose ping goes unanswered, keep one that answers, and connect anew', async () => {
    // A relay that can go silent (a frontend's node lost: nothing answers, nothing closes).
    let silent = false;
    const through = await relay((chunk, to) => !silent && to.write(chunk));
    const up = upstream({ address: through.address, poolSize: 1, pingIntervalMs: 100, pingTimeoutMs: 300 });
    try {
      const first = up.session();
      expect(await get(first)).toBe(200);
      // Pings every 100 ms, each answered.
      await new Promise((r) => setTimeout(r, 700));
      expect(first.destroyed).toBe(false);
      silent = true;
      const went = Date.now();
      while (!first.destroyed) {
        await new Promise((r) => setTimeout(r, 50));
      }
      // Within a ping's interval and its timeout (0.4 s), far from the 10 s default.
      expect(Date.now() - went).toBeLessThan(5_000);
      silent = false;
      const second = up.session();
      expect(second).not.toBe(first);
      expect(await get(second)).toBe(200);
    } finally {
      up.close();
      through.stop();
    }
  });

  it('does keep a session whose pings are answered later than the ping interval, within the timeout', async () => {
    // A relay that delays the frontend's bytes by 200 ms (a frontend far away or busy): a ping goes out every 50 ms, so
    // one is still unanswered when the next is due; none goes unanswered for the 2 s timeout.
    const through = await relay((chunk, to, fromFrontend) => (fromFrontend
      ? setTimeout(() => !to.destroyed && to.write(chunk), 200) : to.write(chunk)));
    const up = upstream({ address: through.address, poolSize: 1, pingIntervalMs: 50, pingTimeoutMs: 2_000 });
    try {
      const session = up.session();
      expect(await get(session)).toBe(200);
      await new Promise((r) => setTimeout(r, 3_000));
      expect(session.destroyed).toBe(false);
      expect(up.session()).toBe(session);
      expect(await get(session)).toBe(200);
    } finally {
      up.close();
      through.stop();
    }
  });

  it('does destroy a session whose TLS handshake does not complete within the connect timeout, and connect anew', async () => {
    // Takes connections and never answers: a frontend whose process hangs (the kernel still accepts).
    const accepted: Socket[] = [];
    const silent = createTcpServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const up = upstream({ address: `127.0.0.1:${(silent.address() as AddressInfo).port}`, poolSize: 1, connectTimeoutMs: 300 });
    try {
      const first = up.session();
      const went = Date.now();
      const failed = await new Promise<Error & { code?: string; cause?: Error & { code?: string } }>((resolve) => {
        const req = first.request({ ':method': 'POST', ':path': '/' });
        req.on('error', resolve);
        req.end();
      });
      expect(Date.now() - went).toBeGreaterThanOrEqual(290);
      expect(failed.cause).toMatchObject({ code: 'ETIMEDOUT', message: 'the frontend did not complete the TLS handshake within 300 ms' });
      expect(first.destroyed).toBe(true);
      expect(up.session()).not.toBe(first);
    } finally {
      up.close();
      accepted.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it('does keep a session that connected, past the connect timeout', async () => {
    const up = upstream({ poolSize: 1, connectTimeoutMs: 200 });
    try {
      const session = up.session();
      expect(await get(session)).toBe(200);
      await new Promise((r) => setTimeout(r, 400));
      expect(session.destroyed).toBe(false);
      expect(up.session()).toBe(session);
    } finally {
      up.close();
    }
  });
});
