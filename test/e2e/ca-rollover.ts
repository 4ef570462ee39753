/**
 * CA rollover on the running cluster (docs/SECURITY.md "CA rollover"): every purpose CA moves signing to its other
 * key slot (the chart's `tls.caSigningSlots`, which changes the issuers alone), cert-manager re-issues the leaves, the
 * retired slot is re-keyed (its old key is gone), and the root is re-keyed, while a steady client, a running worker
 * and a schedule go on. Nothing restarts: every process reloads what changed.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { synthesize } from './manifests';
import type { SecretFiles } from './certificates';
import { encode, grpcCall } from './grpc-call';
import {
  clientAddress, context, globalTlsOf, MINUTE, platformFiles, proxy, server, servers, syncSecretVolumes, withLogs, WORKLOAD,
  workloadFiles,
} from './harness';
import { sleep, waitUntil } from './net';
import { goDurationMs } from './rotation';
import { ClientTls, handshake } from './tls-probe';
import { client, connectWorkload, createWorker, frontendTrust, proxyTrust } from './workload';
import { greet, greetWhenReleased, release } from './workflows/greeting';

const PURPOSES = ['workload', 'platform-clients', 'internode', 'frontend'] as const;
type Purpose = typeof PURPOSES[number];
const read = (file: string): string => readFileSync(file, 'utf8');

/** The Secret (namespace, name) of each key slot of a purpose CA and of the root, found by the CA certificates' common names. */
function caSecrets(): { slots: Record<Purpose, [{ namespace: string; secretName: string }, { namespace: string; secretName: string }]>;
  root: { namespace: string; secretName: string }; } {
  const cas = context().certificates.certificates.filter((c) => (c.spec as { isCA?: boolean }).isCA === true);
  const find = (suffix: string) => {
    const ca = cas.find((c) => ((c.spec as { commonName?: string }).commonName ?? '').endsWith(suffix));
    if (ca === undefined) {
      throw new Error(`no CA certificate whose common name ends with "${suffix}"`);
    }
    return { namespace: ca.metadata.namespace ?? '', secretName: (ca.spec as { secretName: string }).secretName };
  };
  const slots = Object.fromEntries(PURPOSES.map((p) => [p, [find(` ${p} CA`), find(` ${p} CA 2`)]])) as ReturnType<typeof caSecrets>['slots'];
  return { slots, root: find(' root CA') };
}

/** What a steady caller saw: every outcome that was not OK, with when and where. */
interface Steady {
  readonly failures: string[];
  calls: number;
  stop(): Promise<void>;
}

/**
 * Calls through the proxy every `intervalMs`, each on a fresh TLS connection with the workload's current certificate
 * files (what a restarted worker pod would present) and the frontend CA copy taken at the start (both slots, as a
 * client namespace keeps it): every handshake of the rollover must succeed, and every call answer OK.
 */
function steadyProber(intervalMs: number): Steady {
  const caFile = join(context().work, 'steady-frontend-ca.pem');
  copyFileSync(proxyTrust().caFile, caFile);
  const trust = { address: clientAddress(), serverName: proxyTrust().serverName, caFile };
  const request = encode('DescribeNamespaceRequest', { namespace: WORKLOAD.temporalNamespaces[0] });
  let running = true;
  const state: Steady = {
    failures: [], calls: 0, stop: async () => {
      running = false;
      await loop;
    },
  };
  const loop = (async () => {
    while (running) {
      const files = workloadFiles();
      const outcome = await grpcCall(trust, { certFile: files.cert, keyFile: files.key }, 'DescribeNamespace', request, 10_000)
        .catch((e: Error) => ({ code: -1, details: e.message }));
      state.calls += 1;
      if (outcome.code !== 0) {
        state.failures.push(`${new Date().toISOString()} DescribeNamespace via the proxy: ${outcome.code} ${outcome.details}`);
      }
      await sleep(intervalMs);
    }
  })();
  return state;
}

/** TLS of a client presenting `files` to a listener whose server certificate the `ca` files verify. */
function tlsOf(files: SecretFiles, caFiles: readonly string[], servername: string, alpn?: string[]): ClientTls {
  return { servername, ca: caFiles.map(read).join(''), cert: read(files.cert), key: read(files.key), ...(alpn ? { alpn } : {}) };
}

/**
 * The doors each purpose's leaves are checked at, with a client certificate of that purpose: the proxy (workload), the
 * frontend (platform-clients, the admin tools' certificate), history's internode gRPC listener (internode). The frontend
 * CA's leaves are checked by every client of these doors (each verifies the server with both slots).
 */
function doors(): { purpose: Purpose; label: string; port: number; tls: (files?: SecretFiles) => ClientTls }[] {
  const frontendTls = globalTlsOf(server('frontend'));
  const history = server('history');
  const historyTls = globalTlsOf(history);
  return [
    { purpose: 'workload', label: 'authorizer proxy', port: proxy().grpcPort,
      tls: (files = workloadFiles()) => tlsOf(files, [frontendTrust().caFile], proxyTrust().serverName) },
    { purpose: 'platform-clients', label: 'frontend', port: server('frontend').grpcPort,
      tls: (files = platformFiles('admintools')) => tlsOf(files, frontendTls.frontend.client.rootCaFiles, frontendTls.frontend.client.serverName) },
    { purpose: 'internode', label: 'history gRPC', port: history.grpcPort,
      tls: (files = { dir: '', cert: historyTls.internode.server.certFile, key: historyTls.internode.server.keyFile, ca: '' }) =>
        tlsOf(files, historyTls.internode.client.rootCaFiles, historyTls.internode.client.serverName, ['h2']) },
  ];
}

/**
 * Whether a door takes a client presenting `files` (default: the current certificate of its purpose): at the proxy, a
 * call (it completes TLS for callers with tokens, and refuses a certificate per call, UNAUTHENTICATED); elsewhere the
 * TLS handshake (Temporal verifies client certificates at TLS).
 */
async function takes(door: ReturnType<typeof doors>[number], files?: SecretFiles): Promise<string> {
  if (door.purpose === 'workload') {
    const current = files ?? workloadFiles();
    const outcome = await grpcCall({ address: clientAddress(), serverName: proxyTrust().serverName, caFile: frontendTrust().caFile },
      { certFile: current.cert, keyFile: current.key }, 'DescribeNamespace',
      encode('DescribeNamespaceRequest', { namespace: WORKLOAD.temporalNamespaces[0] }), 10_000);
    return outcome.code === 0 ? 'accepted' : `refused: ${outcome.code} ${outcome.details}`;
  }
  const verdict = await handshake(door.port, door.tls(files), 5000);
  return verdict.accepted ? 'accepted' : `refused: ${verdict.error?.code}`;
}

/** Every door's verdict on `filesOf(purpose)`: label -> verdict. */
async function verdicts(filesOf: (purpose: Purpose) => SecretFiles | undefined): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(doors().map(async (d) => [d.label, await takes(d, filesOf(d.purpose))] as const)));
}

/** The issuer's common name of the certificate a listener presents (which slot signed it). */
async function presentedIssuer(port: number, tls: ClientTls): Promise<string> {
  const verdict = await handshake(port, tls, 5000);
  return verdict.accepted ? verdict.presented?.issuerCommonName ?? '(no issuer)' : `(refused: ${verdict.error?.code})`;
}

export function registerCaRolloverTests(): void {
  describe('CA rollover', () => {
    test('every purpose CA rolls over to its other key slot and the root is re-keyed: no failed call, the schedule fires, ' +
      'a workflow started before completes after, the retired keys open nothing', () => withLogs(async () => {
      const c = context();
      const refreshMs = goDurationMs(globalTlsOf(server('frontend')).refreshInterval);
      const settle = refreshMs + 45_000;
      const { slots, root } = caSecrets();
      const pids = new Map([...servers].map(([name, s]) => [name, s.running.child.pid]));
      const proxyPid = proxy().running.child.pid;
      const namespace = WORKLOAD.temporalNamespaces[0];

      // Leaves of each purpose signed by the slot about to retire: they must open the doors now, and nothing once the
      // slot is re-keyed.
      const secretOf = (files: SecretFiles) => basename(files.dir);
      const historyInternode = c.certificates.secretNameOf(c.namespace, (cert) => cert.metadata.name.includes('history-internode'));
      const retiring = new Map<Purpose, SecretFiles>([
        ['workload', await c.certificates.variant(WORKLOAD.namespace, secretOf(workloadFiles()), 'retiring-workload', {})],
        ['platform-clients', await c.certificates.variant(c.namespace, secretOf(platformFiles('admintools')), 'retiring-platform', {})],
        ['internode', await c.certificates.variant(c.namespace, historyInternode, 'retiring-internode', {})],
      ]);
      const allAccepted = Object.fromEntries(doors().map((d) => [d.label, 'accepted']));
      expect(await verdicts((p) => retiring.get(p))).toEqual(allAccepted);

      // The workload: a worker and a client on one connection each, as a worker pod runs them. Established TLS sessions
      // are not verified again by Temporal, but the proxy checks each call's certificate against the CAs it trusts now:
      // before the retired slot is re-keyed, the worker pod rolls onto its re-issued certificate (docs step 4), a new
      // replica up before the old one drains, as a Deployment's rolling update does.
      const first = await connectWorkload();
      const a = await createWorker(first.native, namespace);
      const taskQueue = a.taskQueue;
      const runA = a.worker.run();
      let current = client(first.client, namespace);
      let second: Awaited<ReturnType<typeof connectWorkload>> | undefined;
      let b: Awaited<ReturnType<typeof createWorker>> | undefined;
      let runB: Promise<void> | undefined;
      const scheduleId = `ca-rollover-${taskQueue}`;
      try {
        const before = await current.workflow.start(greetWhenReleased, {
          taskQueue, workflowId: `before-ca-rollover-${taskQueue}`, args: ['before'], workflowExecutionTimeout: '20 minutes',
        });
        // The schedule runs in the system worker (internode to history, mTLS to the frontend): it must fire throughout.
        await current.schedule.create({
          scheduleId, spec: { intervals: [{ every: '10s' }] },
          action: { type: 'startWorkflow', workflowType: greet, taskQueue, args: ['schedule'], workflowExecutionTimeout: '1 minute' },
        });
        const steady = steadyProber(500);
        const workflows: string[] = [];
        let running = true;
        // Through the worker's and the client's long-lived connections: a workflow every 3 s, all along.
        const executing = (async () => {
          for (let i = 0; running; i++) {
            try {
              workflows.push(await current.workflow.execute(greet, {
                taskQueue, workflowId: `during-ca-rollover-${taskQueue}-${i}`, args: [`${i}`], workflowExecutionTimeout: '1 minute' }));
            } catch (e) {
              steady.failures.push(`${new Date().toISOString()} workflow ${i}: ${(e as Error).message}`);
            }
            await sleep(3000);
          }
        })();
        const actionsAt = async () => (await current.schedule.getHandle(scheduleId).describe()).info.numActionsTaken;
        const actionsBefore = await actionsAt();
        const started = Date.now();
        try {
          // 1. Signing moves to slot 2 (the issuers alone change), and cert-manager re-issues every leaf of every purpose.
          const moved = synthesize({ ...c.chartProps, tls: { ...c.chartProps.tls,
            caSigningSlots: { 'workload': 2, 'platform-clients': 2, 'internode': 2, 'frontend': 2 } } });
          expect(c.certificates.applyIssuers(moved)).toBe(4);
          for (const purpose of PURPOSES) {
            for (const { namespace: ns, secretName } of c.certificates.issuedBy(purpose)) {
              await c.certificates.renew(ns, secretName);
            }
          }
          syncSecretVolumes();
          // Every door now presents a leaf of slot 2, and takes the renewed leaves of its clients.
          const slotTwo = (purpose: Purpose) => `temporal ${purpose} CA 2`;
          let last: Record<string, string> = {};
          await waitUntil('every listener to present a leaf of slot 2', async () => {
            last = Object.fromEntries(await Promise.all(doors().map(async (d) =>
              [d.label, await presentedIssuer(d.port, d.tls())] as const)));
            return doors().every((d) => last[d.label] === slotTwo(d.label === 'history gRPC' ? 'internode' : 'frontend'));
          }, { timeoutMs: settle, intervalMs: 2000 }).catch((err: Error) => {
            throw new Error(`${err.message}: presented ${JSON.stringify(last)}`);
          });
          expect(new X509Certificate(read(workloadFiles().cert)).issuer).toContain(slotTwo('workload'));

          // The worker pod rolls onto its re-issued certificate: the new replica polls before the old one drains.
          second = await connectWorkload();
          b = await createWorker(second.native, namespace, undefined, taskQueue);
          runB = b.worker.run();
          current = client(second.client, namespace);
          a.worker.shutdown();
          await runA;
          await first.close();

          // 2. The retired slot 1 is re-keyed (its Secret deleted: cert-manager issues it again with a new key), and the
          // workload CA's slot 1 carrier renewed to carry the new certificate. The old keys now open nothing.
          for (const purpose of PURPOSES) {
            await c.certificates.reissue(slots[purpose][0].namespace, slots[purpose][0].secretName, { newKey: true });
          }
          const carrier = c.certificates.secretNameOf(c.namespace, (cert) => cert.metadata.name.endsWith('workload-ca-anchor'));
          await c.certificates.renew(c.namespace, carrier);
          syncSecretVolumes();
          let retired: Record<string, string> = {};
          await waitUntil('the retired keys\' leaves to be refused at every door', async () => {
            retired = await verdicts((p) => retiring.get(p));
            return Object.values(retired).every((v) => v.startsWith('refused'));
          }, { timeoutMs: settle, intervalMs: 2000 }).catch((err: Error) => {
            throw new Error(`${err.message}: ${JSON.stringify(retired)}`);
          });
          // UNAUTHENTICATED at the proxy (on a new connection TLS already found the certificate untrusted, so the call has no
          // valid certificate; on an open one the proxy verifies it again against the CAs it trusts now); Temporal ends
          // the handshake.
          const unauthenticated = ['the call carries neither a valid client certificate nor a bearer token',
            'the client certificate is not issued directly by a trusted CA'].map((reason) => `refused: 16 ${reason}`);
          expect(unauthenticated).toContain(retired['authorizer proxy']);
          expect(await verdicts(() => undefined)).toEqual(allAccepted);

          // 3. The root is re-keyed: the purpose CAs under it are renewed with the keys they have (re-signed), and no
          // listener anchors on the root, so nothing else changes.
          await c.certificates.reissue(root.namespace, root.secretName, { newKey: true });
          for (const purpose of ['internode', 'frontend', 'platform-clients'] as const) {
            for (const slot of slots[purpose]) {
              await c.certificates.reissue(slot.namespace, slot.secretName, { newKey: false });
            }
          }
          syncSecretVolumes();
          await sleep(settle);
          expect(await verdicts(() => undefined)).toEqual(allAccepted);

          // A workflow started before the rollover completes after it.
          await current.workflow.getHandle(before.workflowId).signal(release);
          expect(await current.workflow.getHandle(before.workflowId).result()).toBe('Hello again, before!');
        } finally {
          running = false;
          await executing;
          await steady.stop();
        }
        const minutes = (Date.now() - started) / 60_000;
        const fired = (await actionsAt()) - actionsBefore;
        process.stderr.write(`[e2e] CA rollover: ${steady.calls} fresh-connection calls, ${workflows.length} workflows, ` +
          `${fired} scheduled runs in ${minutes.toFixed(1)} min; failures: ${steady.failures.length}\n`);
        expect(steady.failures).toEqual([]);
        expect(steady.calls).toBeGreaterThan(100);
        expect(workflows.length).toBeGreaterThan(20);
        // Every 10 s across the whole rollover (a missed run or two at the edges, never a stall).
        expect(fired).toBeGreaterThanOrEqual(Math.floor(minutes * 6) - 2);
      } finally {
        await current.schedule.getHandle(scheduleId).delete().catch(() => undefined);
        if (runB === undefined) {
          a.worker.shutdown();
          await runA.catch(() => undefined);
          await first.close();
        } else {
          b?.worker.shutdown();
          await runB.catch(() => undefined);
        }
        await second?.close();
      }
      // Nothing restarted: the same processes reloaded what changed.
      for (const [name, s] of servers) {
        expect({ name, pid: s.running.child.pid, exit: s.running.exit }).toEqual({ name, pid: pids.get(name), exit: undefined });
      }
      expect({ pid: proxy().running.child.pid, exit: proxy().running.exit }).toEqual({ pid: proxyPid, exit: undefined });
    }), 20 * MINUTE);
  });
}
