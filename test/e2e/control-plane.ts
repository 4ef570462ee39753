/**
 * A real Kubernetes control plane on loopback for the end-to-end tier: etcd, kube-apiserver and
 * kube-controller-manager (built by scripts/install-peers.sh), with certificates made by openssl for this run only.
 * There is no kubelet: Deployments get ReplicaSets and Pods (so Pod Security admission runs for real), but no pod
 * ever starts. `kubectl` talks to it through the admin kubeconfig.
 */
import { execFileSync, ExecFileSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitUntil } from './net';
import { findPeers } from './peers';
import { ProcessRunner, Running, tail } from './processes';

export const CERT_MANAGER_CRDS = ['cert-manager.io.yaml', 'policy.cert-manager.io.yaml'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

export class ControlPlane {
  public readonly dir: string;
  public readonly kubeconfig: string;
  public readonly binDir: string;
  public server = '';
  private readonly runner: ProcessRunner;
  private readonly running: Running[] = [];

  constructor(label: string) {
    this.binDir = findPeers().binDir;
    this.dir = mkdtempSync(join(tmpdir(), `secure-temporal-${label}-`));
    mkdirSync(join(this.dir, 'logs'));
    this.kubeconfig = join(this.dir, 'kubeconfig');
    this.runner = new ProcessRunner(join(this.dir, 'logs'), [this.binDir]);
  }

  /** Starts etcd, kube-apiserver and kube-controller-manager; resolves when the API server is ready. */
  public async start(): Promise<void> {
    const d = this.dir;
    openssl(d, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
      '-days', '1', '-subj', '/CN=e2e-kubernetes-ca']);
    writeFileSync(join(d, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
      'DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n');
    writeFileSync(join(d, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const [name, subject, ext] of [['server', '/CN=kube-apiserver', 'server.ext'], ['admin', '/O=system:masters/CN=e2e-admin', 'client.ext']]) {
      openssl(d, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`,
        '-subj', subject]);
      openssl(d, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`,
        '-days', '1', '-extfile', ext]);
    }
    openssl(d, ['genrsa', '-out', 'sa.key', '2048']);
    openssl(d, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);

    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcd = this.runner.start({
      name: 'etcd', cwd: d, env: {},
      argv: ['etcd', '--name', 'e2e', '--data-dir', join(d, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
        '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`, '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-cluster', `e2e=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync', '--log-level', 'warn'],
    });
    this.running.push(etcd);
    await waitUntil('etcd', async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`).then((r) => r.ok, () => false)),
      { timeoutMs: 120_000, intervalMs: 250, abort: () => (etcd.exit ? `etcd exited:\n${tail(etcd.logFile)}` : undefined) });

    const apiserver = this.runner.start({
      name: 'kube-apiserver', cwd: d, env: {},
      argv: ['kube-apiserver', `--etcd-servers=http://127.0.0.1:${etcdPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`, `--tls-cert-file=${d}/server.crt`, `--tls-private-key-file=${d}/server.key`,
        `--client-ca-file=${d}/ca.crt`, '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${d}/sa.pub`, `--service-account-signing-key-file=${d}/sa.key`,
        '--service-cluster-ip-range=10.0.0.0/24', '--authorization-mode=RBAC', `--cert-dir=${d}/apiserver-certs`, '--v=0'],
    });
    this.running.push(apiserver);
    this.server = `https://127.0.0.1:${apiPort}`;
    const agent = new Agent({ ca: readFileSync(join(d, 'ca.crt')), cert: readFileSync(join(d, 'admin.crt')), key: readFileSync(join(d, 'admin.key')) });
    await waitUntil('kube-apiserver /readyz', () => new Promise<boolean>((resolve) => {
      const req = request(`${this.server}/readyz`, { agent }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    }), { timeoutMs: 180_000, intervalMs: 500, abort: () => (apiserver.exit ? `kube-apiserver exited:\n${tail(apiserver.logFile)}` : undefined) });

    const pem = (file: string): string => readFileSync(join(d, file)).toString('base64');
    writeFileSync(this.kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'e2e',
      clusters: [{ name: 'e2e', cluster: { server: this.server, 'certificate-authority-data': pem('ca.crt') } }],
      users: [{ name: 'admin', user: { 'client-certificate-data': pem('admin.crt'), 'client-key-data': pem('admin.key') } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'admin' } }],
    }));
    const kcm = this.runner.start({
      name: 'kube-controller-manager', cwd: d, env: {},
      argv: ['kube-controller-manager', `--kubeconfig=${this.kubeconfig}`, '--leader-elect=false', '--secure-port=0',
        `--service-account-private-key-file=${d}/sa.key`, `--root-ca-file=${d}/ca.crt`, '--use-service-account-credentials=false',
        '--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route,-persistentvolume-binder', '--v=0'],
    });
    this.running.push(kcm);
    await waitUntil('the default ServiceAccount (kube-controller-manager at work)',
      async () => this.tryKubectl(['get', 'serviceaccount', 'default', '-n', 'default']) !== undefined,
      { timeoutMs: 180_000, intervalMs: 1000, abort: () => (kcm.exit ? `kube-controller-manager exited:\n${tail(kcm.logFile)}` : undefined) });
  }

  /** Runs kubectl against the control plane; throws with its output on failure. */
  public kubectl(args: readonly string[], input?: string): string {
    const options: ExecFileSyncOptions = {
      env: { ...process.env, KUBECONFIG: this.kubeconfig }, encoding: 'utf8', stdio: 'pipe', maxBuffer: 256 * 1024 * 1024, timeout: 300_000,
      ...(input !== undefined ? { input } : {}),
    };
    try {
      return execFileSync(join(this.binDir, 'kubectl'), [...args], options) as unknown as string;
    } catch (e) {
      const error = e as { status?: number; stdout?: string; stderr?: string };
      throw Object.assign(new Error(`kubectl ${args.join(' ')} exited ${error.status}:\n${error.stdout ?? ''}${error.stderr ?? ''}`),
        { status: error.status, stdout: error.stdout ?? '', stderr: error.stderr ?? '' });
    }
  }

  /** kubectl, or undefined when it fails. */
  public tryKubectl(args: readonly string[]): string | undefined {
    try {
      return this.kubectl(args);
    } catch {
      return undefined;
    }
  }

  /** The cert-manager CRDs this repository vendors, applied and established, and cert-manager's namespace. */
  public installCertManagerApi(root: string): void {
    for (const file of CERT_MANAGER_CRDS) {
      this.kubectl(['apply', '--server-side', '-f', join(root, 'crds', file)]);
    }
    // A CRD that was just created may have no status yet, and `kubectl wait` fails on it instead of waiting: retry.
    const deadline = Date.now() + 120_000;
    while (this.tryKubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd', '--all']) === undefined) {
      if (Date.now() > deadline) {
        this.kubectl(['wait', '--for=condition=Established', '--timeout=1s', 'crd', '--all']);
      }
      execFileSync('sleep', ['0.5']);
    }
    this.kubectl(['create', 'namespace', 'cert-manager']);
  }

  public async stop(): Promise<void> {
    for (const r of [...this.running].reverse()) {
      await this.runner.stop(r, 5000);
    }
    if (process.env.KEEP_E2E_DIR === undefined) {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
