/**
 * Encryption at rest, end to end: a TypeScript worker encrypts payloads with the package's codec; the history shows
 * only `binary/encrypted`; the real Web UI server (the synthesized Deployment's env, the temporalio/ui image's config
 * template) signs a person in at the real OpenID Connect provider, through the authorizer proxy with that person's
 * token; Debian's Chromium shows the decoded input (the browser calls the codec server itself, with the token, across
 * origins); a person without read sees nothing decoded; a page of another origin is refused by CORS. An independent
 * implementation of the format (codecinterop/, Go) interoperates with the codec server. Screenshots of each browser
 * case are kept in artifacts/e2e/.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { Agent, request } from 'node:https';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DataConverter } from '@temporalio/client';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { EncryptionCodec, KeyRing, payloadFromJson, payloadToJson } from '../../lib/codec';
import { API_KEYS_FILE, createApiKey } from '../../lib/authorizer/api-keys';
import {
  API_KEY_OWNER, API_KEYS_SECRET, codecKeysSecret, context, MINUTE, NAMESPACE_B, pod, syncSecretVolumes, tierApiKeys, withLogs,
  workloadFiles,
} from './harness';
import { containerPort, findComponent, onlyContainer, podSpec, serviceHost } from './manifests';
import { freePort, waitUntil } from './net';
import { Running, tail } from './processes';
import { client, connectWorkload, createWorker, frontendTrust, WorkloadConnections } from './workload';
import { greet } from './workflows/greeting';

// What page.evaluate callbacks use in the browser (this file is compiled for Node).
declare const document: {
  readonly body: { readonly innerText: string; insertAdjacentHTML(where: string, html: string): void };
  readonly cookie: string;
};
declare const localStorage: { getItem(key: string): string | null } & Record<string, unknown>;

const SECRET = 'Ada Lovelace, card 4111-1111-1111-1111';
const ARTIFACTS = join(__dirname, '..', '..', 'artifacts', 'e2e');
const ANY_IP = '0.0.0.0';

/** The key ring the user put in a namespace's codec Secret, as a worker of that namespace mounting it reads it. */
function keyRing(namespace = 'default'): KeyRing {
  const secret = context().userSecrets[codecKeysSecret(namespace)];
  const keys = Object.fromEntries(Object.entries(secret).filter(([k]) => k.endsWith('.key'))
    .map(([k, v]) => [k.slice(0, -'.key'.length), Buffer.from(v, 'base64')]));
  return new KeyRing(keys, secret.active);
}

/**
 * The active key's id and bytes of a Temporal namespace's key ring, as the user wrote them into the Secret the codec
 * server mounts at `<CODEC_KEYS_DIR>/<namespace>` (for the Go implementation).
 */
function activeKey(namespace: string): { id: string; key: Buffer } {
  const deployment = findComponent(context().manifests.objects, 'Deployment', 'codec');
  const container = onlyContainer(deployment);
  const keysDir = container.env?.find((e) => e.name === 'CODEC_KEYS_DIR')?.value;
  const mount = container.volumeMounts?.find((m) => m.mountPath === `${keysDir}/${namespace}`);
  const secretName = podSpec(deployment).volumes?.find((v) => v.name === mount?.name)?.secret?.secretName;
  const secret = secretName === undefined ? undefined : context().userSecrets[secretName];
  if (secret === undefined) {
    throw new Error(`the codec server mounts no key ring Secret the test knows at ${keysDir}/${namespace} (Secret ${secretName})`);
  }
  return { id: secret.active, key: Buffer.from(secret[`${secret.active}.key`], 'base64') };
}

/** The data converter of a worker of namespace `default`: its own key ring, payloads bound to the namespace. */
const converter = (): DataConverter => ({ payloadCodecs: [new EncryptionCodec(keyRing('default'), { namespace: 'default' })] });

/** SHA-256 of a certificate's SubjectPublicKeyInfo, base64: Chromium's --ignore-certificate-errors-spki-list entry. */
function spki(pem: string): string {
  const der = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

export interface Started { running: Running; port: number; metricsPort?: number }

let codecServerPod: (Started & { certFile: string }) | undefined;

/**
 * The codec server's pod: the bundled program from its ConfigMap, listening where the browser was told (publicUrl).
 * Started once: a later call gets the running one (the tier's tear-down stops it).
 */
export async function startCodecServer(): Promise<Started & { certFile: string }> {
  if (codecServerPod !== undefined && codecServerPod.running.exit === undefined) {
    return codecServerPod;
  }
  const c = context();
  const deployment = findComponent(c.manifests.objects, 'Deployment', 'codec');
  const container = onlyContainer(deployment);
  const metricsPort = await freePort();
  const rewriter = c.rewriter.endpoint(ANY_IP, containerPort(container, 'https'), '127.0.0.1', c.ui.codecPort)
    .endpoint(ANY_IP, containerPort(container, 'metrics'), '127.0.0.1', metricsPort);
  const local = pod(deployment, 'codec-0', { rewriter });
  const running = c.runner.start(local.containers[0]);
  await waitUntil('the codec server to be healthy', async () => {
    if (running.exit !== undefined) {
      throw new Error(`the codec server exited ${running.exit.code ?? running.exit.signal}:\n${tail(running.logFile)}`);
    }
    return fetch(`http://127.0.0.1:${metricsPort}/healthz`).then((r) => r.ok, () => false);
  }, { timeoutMs: 30_000, intervalMs: 250 });
  const certSecret = podSpec(deployment).volumes?.find((v) => v.name === 'server-tls')?.secret?.secretName ?? '';
  codecServerPod = { running, port: c.ui.codecPort, metricsPort, certFile: c.certificates.files(c.namespace, certSecret).cert };
  return codecServerPod;
}

/**
 * The Web UI's pod: the Go UI server with the synthesized env, run as the temporalio/ui image runs it
 * (`ui-server --env docker start`, config/docker.yaml); its port moved to the one the provider redirects to.
 */
async function startWebUi(): Promise<Started> {
  const c = context();
  // The image's entrypoint (start-ui-server.sh: `exec ./ui-server --env docker start` in /home/ui-server), here the
  // binary with that folder's config template as its root.
  // The root is a host path: added after the pod's paths are rewritten (a cache under /tmp is not the pod's /tmp).
  const deployment = structuredClone(findComponent(c.manifests.objects, 'Deployment', 'web'));
  podSpec(deployment).containers[0].command = ['temporal-ui-server', '--env', 'docker', 'start'];
  const local = pod(deployment, 'web-0');
  const spec = local.containers[0];
  const running = c.runner.start({ ...spec, argv: [spec.argv[0], '--root', c.peers.uiRoot, ...spec.argv.slice(1)],
    env: { ...spec.env, TEMPORAL_UI_PORT: String(c.ui.uiPort) } });
  await waitUntil('the Web UI server to be healthy', async () => {
    if (running.exit !== undefined) {
      throw new Error(`the Web UI server exited ${running.exit.code ?? running.exit.signal}:\n${tail(running.logFile)}`);
    }
    return fetch(`http://127.0.0.1:${c.ui.uiPort}/healthz`).then((r) => r.ok, () => false);
  }, { timeoutMs: 60_000, intervalMs: 500 });
  return { running, port: c.ui.uiPort };
}

/** Signs `account` in through the UI's SSO at the provider's development login and consent pages. */
async function signIn(page: Page, account: string): Promise<void> {
  const { ui } = context();
  await page.goto(`http://localhost:${ui.uiPort}/auth/sso`);
  await page.waitForSelector('input[name="login"]', { timeout: 30_000 });
  await page.fill('input[name="login"]', account);
  await page.fill('input[name="password"]', 'any');
  await page.click('button[type="submit"]');
  // The consent page (first sign-in of this account to the UI client).
  await page.waitForURL((url) => url.pathname.includes('/interaction/') || url.host === `localhost:${ui.uiPort}`, { timeout: 30_000 });
  if (page.url().includes('/interaction/')) {
    await page.click('button[type="submit"]');
  }
  await page.waitForURL((url) => url.host === `localhost:${ui.uiPort}` && !url.pathname.startsWith('/auth/'), { timeout: 30_000 });
}

/**
 * The access token the UI keeps for the signed-in user (it sends it as `Authorization: Bearer`), waited for (≤ 20 s):
 * the UI stores it while its first page loads after the sign-in, a moment after the redirect lands.
 */
async function accessTokenOf(page: Page): Promise<string> {
  const deadline = Date.now() + 20_000;
  let found = await storedAccessToken(page);
  while (found === '' && Date.now() < deadline) {
    await page.waitForTimeout(250);
    found = await storedAccessToken(page);
  }
  if (found === '') {
    throw new Error('the UI holds no access token for the signed-in user');
  }
  return found;
}

/** The access token in the page's cookies or local storage, or ''. */
async function storedAccessToken(page: Page): Promise<string> {
  return page.evaluate(() => {
    const texts = [document.cookie, ...Object.keys(localStorage).map((k) => localStorage.getItem(k) ?? '')];
    for (const text of texts) {
      for (const part of text.split(/[;\s"]+/)) {
        for (const candidate of [part.replace(/^user\d+=/, ''), (() => {
          try {
            return atob(decodeURIComponent(part.replace(/^user\d+=/, '')));
          } catch {
            return '';
          }
        })()]) {
          const match = /"?(?:accessToken|AccessToken)"?\s*:\s*"([^"]+)"/.exec(candidate);
          if (match) {
            return match[1];
          }
        }
      }
    }
    return '';
  });
}

function screenshot(page: Page, name: string): Promise<Buffer> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The codec server's Service DNS name: what the CLI in a client namespace verifies. */
function codecServiceName(): string {
  const c = context();
  return serviceHost(findComponent(c.manifests.objects, 'Service', 'codec'), c.manifests.clusterDomain);
}

/** POST to the codec server with the workload identity's client certificate (as the CLI would). */
function codecCall(port: number, path: string, body: unknown, as: { namespace?: string; apiKey?: string } = {}):
  Promise<{ status: number; json: { payloads?: unknown[]; error?: string; message?: string } }> {
  const files = workloadFiles();
  // The frontend CA is an intermediate: accept it as the anchor (as a pod's trust bundle does for Go clients). With an API
  // key, no client certificate.
  const agent = new Agent({ ca: readFileSync(frontendTrust().caFile), ...(as.apiKey ? {} : { cert: readFileSync(files.cert),
    key: readFileSync(files.key) }), keepAlive: false, allowPartialTrustChain: true } as ConstructorParameters<typeof Agent>[0]);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, servername: codecServiceName(),
      headers: { 'content-type': 'application/json', 'x-namespace': as.namespace ?? 'default',
        ...(as.apiKey ? { authorization: `Bearer ${as.apiKey}` } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The Go implementation of the format (codecinterop/), built once. */
function buildInterop(dir: string): string {
  const binary = join(dir, 'codecinterop');
  const build = spawnSync('go', ['build', '-o', binary, '.'], {
    cwd: join(__dirname, 'codecinterop'), encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod -buildvcs=false' },
  });
  if (build.error !== undefined || build.status !== 0) {
    throw new Error(`building test/e2e/codecinterop needs the Go toolchain: ${build.error?.message ?? build.stderr}`);
  }
  return binary;
}

/** Runs the Go implementation: format 2 bound to `namespace` when one is given, else the samples' format 1. */
function interop(binary: string, command: 'encrypt' | 'decrypt', key: Uint8Array, keyId: string, payload: unknown,
  namespace?: string): { ok: boolean; out: string } {
  const run = spawnSync(binary, [command, Buffer.from(key).toString('base64'), keyId, ...(namespace !== undefined ? [namespace] : [])],
    { input: JSON.stringify(payload), encoding: 'utf8' });
  return { ok: run.status === 0, out: run.status === 0 ? run.stdout : run.stderr };
}

/** A JSON payload with one metadata entry set (a string) or removed (undefined). */
function withMetadata(payload: { metadata: Record<string, string>; data: string }, key: string, value: string | undefined) {
  const metadata = { ...payload.metadata };
  if (value === undefined) {
    delete metadata[key];
  } else {
    metadata[key] = Buffer.from(value).toString('base64');
  }
  return { ...payload, metadata };
}

const metadataText = (payload: { metadata?: Record<string, string> }, key: string): string | undefined =>
  payload.metadata?.[key] === undefined ? undefined : Buffer.from(payload.metadata[key], 'base64').toString();

export function registerWebUiTests(): void {
  describe('encryption at rest: the codec, the codec server and the Web UI behind single sign-on', () => {
    let codec: Started & { certFile: string };
    let connections: WorkloadConnections;
    let browser: Browser;
    let workflow: { workflowId: string; runId: string };

    beforeAll(() => withLogs(async () => {
      codec = await startCodecServer();
      await startWebUi();
      connections = await connectWorkload();
      const { worker, taskQueue } = await createWorker(connections.native, 'default', converter());
      const temporal = client(connections.client, 'default', converter());
      await worker.runUntil(async () => {
        const handle = await temporal.workflow.start(greet, { taskQueue, workflowId: `e2e-encrypted-${Date.now()}`, args: [SECRET] });
        expect(await handle.result()).toBe(`Hello, ${SECRET}!`);
        workflow = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
      });
      const c = context();
      browser = await chromium.launch({
        executablePath: c.peers.chromium,
        // The codec server's and the provider's certificates come from CAs of this test, not the browser's store:
        // exactly those two keys are accepted.
        args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${spki(readFileSync(codec.certFile, 'utf8'))},${spki(c.idp.certPem)}`],
      });
    }), 4 * MINUTE);

    afterAll(async () => {
      await browser?.close();
      await connections?.close();
    });

    test('the history read without the codec holds only binary/encrypted payloads, and no plaintext', () => withLogs(async () => {
      const history = await client(connections.client, 'default').workflow.getHandle(workflow.workflowId, workflow.runId).fetchHistory();
      const payloads: { metadata?: Record<string, Uint8Array> | null }[] = [];
      const collect = (value: unknown): void => {
        if (value && typeof value === 'object') {
          if ('metadata' in value && 'data' in value) {
            payloads.push(value as { metadata?: Record<string, Uint8Array> | null });
          }
          Object.values(value).forEach(collect);
        }
      };
      collect(history.events);
      expect(payloads.length).toBeGreaterThanOrEqual(4); // input, activity input and result, workflow result
      expect([...new Set(payloads.map((p) => Buffer.from(p.metadata?.encoding ?? []).toString()))]).toEqual(['binary/encrypted']);
      expect([...new Set(payloads.map((p) => Buffer.from(p.metadata?.['encryption-key-id'] ?? []).toString()))]).toEqual(['e2e-2026-11']);
      expect(JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v))).not.toContain('Lovelace');
    }), 2 * MINUTE);

    test('a caller with a role in one namespace lists only that namespace (the proxy narrows ListNamespaces)', () => withLogs(async () => {
      const { namespaces } = await connections.client.workflowService.listNamespaces({});
      const names = namespaces.map((n) => n.namespaceInfo?.name).sort();
      expect(names).toEqual(['default']); // e2e-b and temporal-system exist, and are not shown
      const admin = await connections.client.workflowService.getClusterInfo({});
      expect(admin.serverVersion).toBe('1.31.2');
    }), MINUTE);

    test('signed in through SSO, a person with read sees the decoded input (the browser calls the codec server)', () => withLogs(async () => {
      const { ui } = context();
      const page = await (await browser.newContext()).newPage();
      const decodes: number[] = [];
      page.on('response', (r) => {
        if (r.url().startsWith(`${ui.codecUrl}/decode`)) {
          decodes.push(r.status());
        }
      });
      await signIn(page, 'alice');
      await page.goto(`http://localhost:${ui.uiPort}/namespaces/default/workflows/${workflow.workflowId}/${workflow.runId}/history`);
      try {
        await page.waitForFunction((text) => document.body.innerText.includes(text), SECRET, { timeout: 60_000 });
      } finally {
        await screenshot(page, 'decoded-for-alice');
      }
      expect(decodes.length).toBeGreaterThan(0);
      expect(decodes.every((s) => s === 200)).toBe(true);
      await page.context().close();
    }), 3 * MINUTE);

    test('a person without read on the namespace (bob: write on e2e-b only) sees nothing decoded, and the codec server refuses his ' +
      'token for it (403)', () => withLogs(async () => {
      const { ui } = context();
      const context_: BrowserContext = await browser.newContext();
      const page = await context_.newPage();
      await signIn(page, 'bob');
      const token = await accessTokenOf(page);
      await page.goto(`http://localhost:${ui.uiPort}/namespaces/default/workflows/${workflow.workflowId}/${workflow.runId}/history`);
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(3000);
      expect(await page.evaluate(() => document.body.innerText)).not.toContain(SECRET);
      const encrypted = payloadToJson((await new EncryptionCodec(keyRing()).encode([{ metadata: { encoding: Buffer.from('json/plain') },
        data: Buffer.from(JSON.stringify(SECRET)) }]))[0]);
      const answer = await page.evaluate(async ({ url, bearer, payload }) => {
        const response = await fetch(`${url}/decode`, { method: 'POST', body: JSON.stringify({ payloads: [payload] }),
          headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Authorization: `Bearer ${bearer}` } });
        return { status: response.status, body: await response.text() };
      }, { url: ui.codecUrl, bearer: token, payload: encrypted });
      await screenshot(page, 'nothing-for-bob');
      expect(answer.status).toBe(403);
      expect(answer.body).not.toContain('Lovelace');
      // His own namespace works, and the namespace list shows only it.
      await page.goto(`http://localhost:${ui.uiPort}/namespaces/${NAMESPACE_B}/workflows`);
      await page.waitForFunction(() => document.body.innerText.includes('Workflows') && !document.body.innerText.includes('Continue to SSO'),
        undefined, { timeout: 30_000 });
      await screenshot(page, 'bob-in-his-namespace');
      await context_.close();
    }), 3 * MINUTE);

    test('from a page of another origin, the browser\'s CORS check fails', () => withLogs(async () => {
      const { ui } = context();
      const page = await (await browser.newContext()).newPage();
      const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>elsewhere</title><h1>another origin</h1>'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        const token = await context().idp.oidc.token('alice');
        const result = await page.evaluate(async ({ url, bearer }) => {
          try {
            const response = await fetch(`${url}/decode`, { method: 'POST', body: '{"payloads":[]}',
              headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Authorization: `Bearer ${bearer}` } });
            return `answered ${response.status}`;
          } catch (e) {
            return `refused: ${(e as Error).message}`;
          }
        }, { url: ui.codecUrl, bearer: token });
        await page.evaluate((text) => {
          document.body.insertAdjacentHTML('beforeend', `<pre>${text}</pre>`);
        }, result);
        await screenshot(page, 'cors-refused-elsewhere');
        expect(result).toBe('refused: Failed to fetch');
        // The server saw the preflight and refused it: no CORS header for that origin.
        const refusedPreflight = /"method":"OPTIONS".*"origin":"http:\/\/127\.0\.0\.1:\d+".*"status":403/;
        await waitUntil('the refused preflight\'s log line', async () => refusedPreflight.test(readFileSync(codec.running.logFile, 'utf8')),
          { timeoutMs: 10_000, intervalMs: 100 }).catch(() => undefined);
        expect(readFileSync(codec.running.logFile, 'utf8')).toMatch(refusedPreflight);
      } finally {
        server.close();
        await page.context().close();
      }
    }), 2 * MINUTE);

    test('an independent implementation (Go, crypto/aes + crypto/cipher) and ours decrypt each other: the samples\' format', () =>
      withLogs(async () => {
        const binary = buildInterop(context().work);
        const ring = activeKey('default');
        const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') },
          data: Buffer.from(JSON.stringify(SECRET)).toString('base64') };
        // Go encrypts (format 1, no namespace); the codec server (with a workload certificate, as the CLI) decrypts.
        const fromGo = interop(binary, 'encrypt', ring.key, ring.id, plain);
        expect(fromGo.ok).toBe(true);
        const goPayload = JSON.parse(fromGo.out);
        expect(metadataText(goPayload, 'encryption-format')).toBeUndefined();
        const decoded = await codecCall(codec.port, '/decode', { payloads: [goPayload] });
        expect(decoded.status).toBe(200);
        expect(decoded.json.payloads).toEqual([{ metadata: plain.metadata, data: plain.data }]);
        // Our library writes format 1 without a namespace; Go decrypts it.
        const ours = payloadToJson((await new EncryptionCodec(new KeyRing({ [ring.id]: ring.key }, ring.id)).encode([{
          metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(SECRET)) }]))[0]);
        const back = interop(binary, 'decrypt', ring.key, ring.id, ours);
        expect(back.ok).toBe(true);
        expect(JSON.parse(back.out)).toEqual({ metadata: plain.metadata, data: plain.data });
        // A flipped bit: Go's GCM and ours both refuse it.
        const tampered = { ...goPayload, data: (() => {
          const bytes = Buffer.from(goPayload.data, 'base64');
          bytes[bytes.length - 20] ^= 1;
          return bytes.toString('base64');
        })() };
        expect(interop(binary, 'decrypt', ring.key, ring.id, tampered).out).toContain('message authentication failed');
        const refused = await codecCall(codec.port, '/decode', { payloads: [tampered] });
        expect({ status: refused.status, error: refused.json.error }).toEqual({ status: 422, error: 'DECRYPT_FAILED' });
        writeFileSync(join(context().work, 'interop.json'), JSON.stringify({ goPayload, ours }, undefined, 2));
      }), 3 * MINUTE);

    test('an API key decodes where its rules grant read (default), not elsewhere (B); expired and disabled keys are refused', () =>
      withLogs(async () => {
        const keys = tierApiKeys();
        const ofDefault = payloadToJson((await new EncryptionCodec(keyRing('default'), { namespace: 'default' }).encode([{
          metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(SECRET)) }]))[0]);
        const decoded = await codecCall(codec.port, '/decode', { payloads: [ofDefault] }, { apiKey: keys.valid });
        expect(decoded.status).toBe(200);
        expect(Buffer.from(String((decoded.json.payloads?.[0] as { data: string }).data), 'base64').toString()).toBe(JSON.stringify(SECRET));
        const ofB = payloadToJson((await new EncryptionCodec(keyRing(NAMESPACE_B), { namespace: NAMESPACE_B }).encode([{
          metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(SECRET)) }]))[0]);
        expect((await codecCall(codec.port, '/decode', { payloads: [ofB] }, { apiKey: keys.valid, namespace: NAMESPACE_B })).status).toBe(403);
        const expired = await codecCall(codec.port, '/decode', { payloads: [ofDefault] }, { apiKey: keys.expired });
        expect([expired.status, expired.json.message]).toEqual([401, expect.stringMatching(/^the API key e2e-ci-old expired at /)]);
        const disabled = await codecCall(codec.port, '/decode', { payloads: [ofDefault] }, { apiKey: keys.disabled });
        expect([disabled.status, disabled.json.message]).toEqual([401, 'the API key e2e-ci-off is disabled']);
        // Rotation without a restart: a new key is taken, the removed one refused, once the Secret's volume changes.
        const secret = context().userSecrets[API_KEYS_SECRET];
        const original = secret[API_KEYS_FILE];
        const next = createApiKey('e2e-ci-3', API_KEY_OWNER, new Date(Date.now() + 86_400_000));
        try {
          secret[API_KEYS_FILE] = JSON.stringify({ keys: [next.record] });
          syncSecretVolumes();
          await waitUntil('the codec server to take the new key', async () =>
            (await codecCall(codec.port, '/decode', { payloads: [ofDefault] }, { apiKey: next.key })).status === 200,
          { timeoutMs: 40_000, intervalMs: 1000 });
          expect((await codecCall(codec.port, '/decode', { payloads: [ofDefault] }, { apiKey: keys.valid })).status).toBe(401);
        } finally {
          secret[API_KEYS_FILE] = original;
          syncSecretVolumes();
        }
      }), 2 * MINUTE);

    test('an independent implementation (Go) and ours decrypt each other\'s payloads bound to a namespace (format 2), and refuse ' +
      'another namespace\'s', () => withLogs(async () => {
      const binary = buildInterop(context().work);
      const ring = activeKey('default');
      const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') },
        data: Buffer.from(JSON.stringify(SECRET)).toString('base64') };
      // Go → ours: Go binds the payload to default; the codec server (X-Namespace: default) and the library decrypt.
      const fromGo = interop(binary, 'encrypt', ring.key, ring.id, plain, 'default');
      expect(fromGo.ok).toBe(true);
      const goPayload = JSON.parse(fromGo.out);
      expect([metadataText(goPayload, 'encryption-format'), metadataText(goPayload, 'encryption-namespace')]).toEqual(['2', 'default']);
      const decoded = await codecCall(codec.port, '/decode', { payloads: [goPayload] });
      expect(decoded.status).toBe(200);
      expect(decoded.json.payloads).toEqual([{ metadata: plain.metadata, data: plain.data }]);
      const library = new EncryptionCodec(new KeyRing({ [ring.id]: ring.key }, ring.id), { namespace: 'default' });
      const [fromLibrary] = await library.decode([payloadFromJson(goPayload, 'goPayload')]);
      expect(payloadToJson(fromLibrary)).toEqual({ metadata: plain.metadata, data: plain.data });
      // Ours → Go: the codec server's encode (X-Namespace: default) and the library's, both bound to default.
      const encoded = await codecCall(codec.port, '/encode', { payloads: [plain] });
      expect(encoded.status).toBe(200);
      const serverPayload = (encoded.json.payloads ?? [])[0] as { metadata: Record<string, string>; data: string };
      expect([metadataText(serverPayload, 'encryption-format'), metadataText(serverPayload, 'encryption-namespace')]).toEqual(['2', 'default']);
      const libraryPayload = payloadToJson((await library.encode([payloadFromJson(plain, 'plain')]))[0]);
      for (const payload of [serverPayload, libraryPayload]) {
        const back = interop(binary, 'decrypt', ring.key, ring.id, payload, 'default');
        expect(back.ok).toBe(true);
        expect(JSON.parse(back.out)).toEqual({ metadata: plain.metadata, data: plain.data });
        // Go refuses it for another namespace, and when its namespace is rewritten (the associated data binds it).
        expect(interop(binary, 'decrypt', ring.key, ring.id, payload, NAMESPACE_B).out).toContain('wrong namespace');
        expect(interop(binary, 'decrypt', ring.key, ring.id, withMetadata(payload as never, 'encryption-namespace', NAMESPACE_B), NAMESPACE_B).out)
          .toContain('message authentication failed');
      }
      // The codec server refuses, for namespace default, what Go bound to the other namespace (even with default's key),
      // the same relabelled as default's, and a stripped format marker (no downgrade to the samples' format).
      const other = JSON.parse(interop(binary, 'encrypt', ring.key, ring.id, plain, NAMESPACE_B).out);
      const refusals = await Promise.all([
        other,
        withMetadata(other, 'encryption-namespace', 'default'),
        withMetadata(withMetadata(goPayload, 'encryption-format', undefined), 'encryption-namespace', undefined),
      ].map(async (payload) => {
        const answer = await codecCall(codec.port, '/decode', { payloads: [payload] });
        return { status: answer.status, error: answer.json.error, plaintext: JSON.stringify(answer.json).includes(plain.data) };
      }));
      expect(refusals).toEqual([
        { status: 422, error: 'WRONG_NAMESPACE', plaintext: false },
        { status: 422, error: 'DECRYPT_FAILED', plaintext: false },
        { status: 422, error: 'DECRYPT_FAILED', plaintext: false },
      ]);
      writeFileSync(join(context().work, 'interop-v2.json'), JSON.stringify({ goPayload, serverPayload, libraryPayload }, undefined, 2));
    }), 3 * MINUTE);
  });
}
