/**
 * Leaf rotation on the running cluster (docs/SECURITY.md "Rotation"): cert-manager re-issues the leaves
 * with new keys (rotationPolicy Always), the kubelet swaps the mounted files, and every server serves
 * the new certificates to new connections within `global.tls.refreshInterval`, with no restart, while a
 * workflow started before the rotation and one started after it both complete.
 */
import { readFileSync } from 'node:fs';
import type { IVolume } from 'kubernetes-models/v1';
import { fingerprintOf } from './certificates';
import {
  context, globalTlsOf, MINUTE, platformFiles, proxy, proxyDeployment, server, serverDeployments, servers, syncSecretVolumes, withLogs,
  WORKLOAD, workloadFiles,
} from './harness';
import { podSpec } from './manifests';
import { waitUntil } from './net';
import { ClientTls, handshake } from './tls-probe';
import { client, connectWorkload, createWorker, frontendTrust, proxyTrust } from './workload';
import { greet, greetWhenReleased, release } from './workflows/greeting';

const read = (file: string): string => readFileSync(file, 'utf8');

/** A Go duration of the config (`1m`, `90s`, `1h30m`) in milliseconds. */
export function goDurationMs(value: string): number {
  const units: Record<string, number> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new Error(`not a Go duration: ${value}`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
}

interface Endpoint {
  readonly label: string;
  readonly port: number;
  /** The file holding the certificate the listener must present (in the server's own pod). */
  readonly certFile: string;
  readonly tls: () => ClientTls;
}

/**
 * Every TLS listener: the proxy's gRPC port (its certificate, to a workload), the frontend's gRPC port (frontend
 * certificate, to a platform client: it refuses workloads), every other one internode (each service its own).
 */
function endpoints(): Endpoint[] {
  const files = workloadFiles();
  const out: Endpoint[] = [{
    label: 'authorizer proxy gRPC', port: proxy().grpcPort, certFile: proxy().running.spec.env.PROXY_TLS_CERT_FILE, tls: () => ({
      servername: proxyTrust().serverName, ca: read(proxyTrust().caFile), cert: read(files.cert), key: read(files.key),
    }),
  }];
  for (const s of servers.values()) {
    const tls = globalTlsOf(s);
    const internodeClient = (alpn: string[]) => (): ClientTls => ({
      servername: tls.internode.client.serverName, ca: tls.internode.client.rootCaFiles.map(read).join(''),
      cert: read(tls.internode.server.certFile), key: read(tls.internode.server.keyFile), alpn,
    });
    out.push({ label: `${s.component} membership`, port: s.membershipPort, certFile: tls.internode.server.certFile, tls: internodeClient([]) });
    if (s.component === 'frontend') {
      const admin = platformFiles('admintools');
      out.push({
        label: 'frontend gRPC', port: s.grpcPort, certFile: tls.frontend.server.certFile, tls: () => ({
          servername: frontendTrust().serverName, ca: read(frontendTrust().caFile), cert: read(admin.cert), key: read(admin.key),
        }),
      });
    } else {
      out.push({ label: `${s.component} gRPC`, port: s.grpcPort, certFile: tls.internode.server.certFile, tls: internodeClient(['h2']) });
    }
  }
  return out;
}

/** What each listener presents to a new, fully verifying connection that it accepts: label -> fingerprint. */
async function presented(list: readonly Endpoint[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const verdict = await handshake(e.port, e.tls(), 5000);
    out[e.label] = verdict.accepted ? verdict.presented?.fingerprint256 ?? '(none)' : `(refused: ${verdict.error?.code})`;
  }
  return out;
}

/**
 * The TLS leaf Secrets the server and proxy pods mount (Secret volumes written by a Certificate): every service's
 * internode certificate, the frontend's, the proxy's server and client certificates. Not the proxy's signing key
 * (a key, not a TLS certificate: rotated by its own test).
 */
function serverLeafSecrets(): string[] {
  const c = context();
  const written = new Set(c.certificates.certificates.filter((cert) => cert.metadata.namespace === c.namespace &&
    ((cert.spec as { usages?: string[] }).usages ?? []).some((u) => u === 'server auth' || u === 'client auth'))
    .map((cert) => (cert.spec as { secretName: string }).secretName));
  const volumes: IVolume[] = [...serverDeployments().values(), proxyDeployment()].flatMap((d) => podSpec(d).volumes ?? []);
  return [...new Set(volumes.map((v) => v.secret?.secretName).filter((n): n is string => n !== undefined && written.has(n)))];
}

export function registerRotationTests(): void {
  describe('leaf rotation', () => {
    test('leaves re-issued with new keys are served within refreshInterval; no restart; workflows across it complete', () =>
      withLogs(async () => {
        const c = context();
        const refreshMs = goDurationMs(globalTlsOf(server('frontend')).refreshInterval);
        const list = endpoints();
        const fingerprints = (): Record<string, string> =>
          Object.fromEntries(list.map((e) => [e.label, fingerprintOf(read(e.certFile))]));
        const before = fingerprints();
        expect(await presented(list)).toEqual(before);
        const pids = new Map([...servers].map(([name, s]) => [name, s.running.child.pid]));
        const proxyPid = proxy().running.child.pid;
        const leaves = serverLeafSecrets();
        expect(leaves.length).toBeGreaterThanOrEqual(8);
        const workloadBefore = fingerprintOf(read(workloadFiles().cert));

        const old = await connectWorkload();
        const namespace = WORKLOAD.temporalNamespaces[0];
        try {
          const { worker, taskQueue } = await createWorker(old.native, namespace);
          await worker.runUntil(async () => {
            const first = await client(old.client, namespace).workflow.start(greetWhenReleased, {
              taskQueue, workflowId: `before-rotation-${taskQueue}`, args: ['before'], workflowExecutionTimeout: '5 minutes',
            });

            // cert-manager renews (new keys), then the kubelet syncs every pod's volumes.
            for (const secret of leaves) {
              await c.certificates.renew(c.namespace, secret);
            }
            await c.certificates.renew(WORKLOAD.namespace, c.certificates.secretNameOf(WORKLOAD.namespace,
              (cert) => (cert.spec as { commonName?: string }).commonName === WORKLOAD.name));
            syncSecretVolumes();
            const after = fingerprints();
            for (const e of list) {
              expect(after[e.label]).not.toBe(before[e.label]);
            }
            expect(fingerprintOf(read(workloadFiles().cert))).not.toBe(workloadBefore);
            const rotatedAt = Date.now();
            let last: Record<string, string> = {};
            await waitUntil('every listener to present its new certificate', async () => {
              last = await presented(list);
              return list.every((e) => last[e.label] === after[e.label]);
            }, { timeoutMs: refreshMs + 30_000, intervalMs: 2000 }).catch((err: Error) => {
              throw new Error(`${err.message}: presented ${JSON.stringify(last)}, expected ${JSON.stringify(after)}`);
            });
            process.stderr.write(`[e2e] rotated leaves served by every listener after ${Math.round((Date.now() - rotatedAt) / 1000)} s ` +
              `(refreshInterval ${refreshMs / 1000} s)\n`);

            // No restart: the same processes, still running, each having reloaded its certificates.
            for (const [name, s] of servers) {
              expect({ name, pid: s.running.child.pid, exit: s.running.exit }).toEqual({ name, pid: pids.get(name), exit: undefined });
              expect(read(s.running.logFile)).toMatch(/"msg":"loaded new TLS certificates"/);
            }
            expect({ pid: proxy().running.child.pid, exit: proxy().running.exit }).toEqual({ pid: proxyPid, exit: undefined });
            expect(read(proxy().running.logFile)).toMatch(/"msg":"serving certificate reloaded"/);
            expect(read(proxy().running.logFile)).toMatch(/"msg":"client certificate reloaded"/);

            // New connections with the renewed workload certificate: release the first workflow, run a second.
            const renewed = await connectWorkload();
            try {
              const fresh = client(renewed.client, namespace);
              await fresh.workflow.getHandle(first.workflowId).signal(release);
              const second = await fresh.workflow.execute(greet, {
                taskQueue, workflowId: `after-rotation-${taskQueue}`, args: ['after'], workflowExecutionTimeout: '2 minutes',
              });
              expect(second).toBe('Hello, after!');
              expect(await fresh.workflow.getHandle(first.workflowId).result()).toBe('Hello again, before!');
            } finally {
              await renewed.close();
            }
          });
        } finally {
          await old.close();
        }
      }), 5 * MINUTE);
  });
}
