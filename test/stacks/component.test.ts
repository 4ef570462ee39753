/**
 * The Pulumi component with `pulumi.runtime.setMocks` (no engine, no cluster): it registers exactly the chart's
 * objects, in an order where nothing waits on what comes later; in `pulumi-tls` mode the resource graph mints
 * exactly the certificates of the shared specification (SANs, usages, chain, lifetimes) into Secrets of the
 * cert-manager shape, marked secret, and no cert-manager object. The real engine, CLI and Kubernetes provider
 * against a real API server are in test/e2e/pulumi.e2e.test.ts.
 */
import * as pulumi from '@pulumi/pulumi';
import { Duration } from 'cdk8s';
import { SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { CertificateSpecification } from '../../lib/tls/specification';

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

const registered: Registered[] = [];
/** The outputs a StackReference reads (the stack's last update), per test. */
let referencedOutputs: Record<string, unknown> = {};

pulumi.runtime.setMocks({
  newResource(args) {
    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
    const state: Record<string, unknown> = { ...args.inputs };
    if (args.type === 'pulumi:pulumi:StackReference') {
      state.outputs = referencedOutputs;
      state.secretOutputNames = [];
    }
    // What @pulumi/tls would compute, as recognisable stand-ins (the provider cannot run here).
    if (args.type === 'tls:index/privateKey:PrivateKey') {
      state.privateKeyPem = `KEY(${args.name})`;
      state.privateKeyPemPkcs8 = `PKCS8(${args.name})`;
    }
    if (args.type === 'tls:index/certRequest:CertRequest') {
      state.certRequestPem = `CSR(${args.name})`;
    }
    if (args.type === 'tls:index/selfSignedCert:SelfSignedCert' || args.type === 'tls:index/locallySignedCert:LocallySignedCert') {
      state.certPem = `CERT(${args.name})\n`;
    }
    return { id: `${args.name}-id`, state };
  },
  call(args) {
    return args.inputs;
  },
}, 'secure-temporal', 'test', false, 'organization');

// Imported after setMocks, as Pulumi's docs require.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SecureTemporal, planDeployment, synthesizeObjects, resourceName } = require('../../stacks/secure-temporal') as
  typeof import('../../stacks/secure-temporal');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { previousServerVersion, upgradeProgram, withRunningVersion } = require('../../stacks/program') as
  typeof import('../../stacks/program');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { allowedUses, hours } = require('../../stacks/pulumi-tls') as typeof import('../../stacks/pulumi-tls');

/** The signature key Pulumi's RPC layer wraps secret values in. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';

/** A value the engine received as a secret: its plain value; throws when it was not marked secret. */
function secretValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || !(SECRET_SIG in value)) {
    throw new Error(`not a secret: ${JSON.stringify(value)}`);
  }
  return (value as unknown as { value: unknown }).value;
}

function settle<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
}

type Deployed = { component: InstanceType<typeof SecureTemporal>; resources: Registered[] };

async function deploy(args: ConstructorParameters<typeof SecureTemporal>[1]): Promise<Deployed> {
  registered.length = 0;
  const component = new SecureTemporal('temporal', args);
  await Promise.all([...component.resources.values(), ...component.certificateSecrets].map((r) => settle(r.urn)));
  await settle(component.objectCount);
  return { component, resources: [...registered] };
}

const withClients: SecureTemporalChartProps = {
  clientNamespaces: [{ kind: 'namespace', namespaceLabels: { 'kubernetes.io/metadata.name': 'apps' } }],
  clientIdentities: [{ name: 'orders-worker', namespace: 'apps', temporalNamespaces: ['default'] }],
};

describe('SecureTemporal (cert-manager)', () => {
  test('registers every object of the chart, with its type and its fields, under the component', async () => {
    const { objects } = synthesizeObjects(withClients);
    const { component, resources } = await deploy({ chart: withClients });
    const k8sResources = resources.filter((r) => r.type.startsWith('kubernetes:'));
    expect(k8sResources).toHaveLength(objects.length);
    for (const object of objects) {
      const resource = k8sResources.find((r) => r.name === resourceName(object));
      expect(resource).toBeDefined();
      const version = object.apiVersion.includes('/') ? object.apiVersion : `core/${object.apiVersion}`;
      expect(resource!.type).toBe(`kubernetes:${version}:${object.kind}`);
      expect(resource!.inputs.metadata).toEqual(object.metadata);
      for (const field of ['spec', 'data', 'rules', 'roleRef', 'subjects']) {
        if (field in object) {
          expect(resource!.inputs[field]).toEqual(object[field]);
        }
      }
    }
    expect(resources.filter((r) => r.type === 'secure-temporal:index:SecureTemporal')).toHaveLength(1);
    expect(await settle(component.frontendAddress)).toBe('temporal-authorizer-proxy.temporal.svc.cluster.local:7233');
    expect(await settle(component.clientSecretNames)).toEqual(['apps/orders-worker-temporal-tls']);
    expect(await settle(component.objectCount)).toBe(objects.length);
    // The Kubernetes resources' parent is the component (their URNs carry its type).
    const urn = await settle([...component.resources.values()][0].urn);
    expect(urn).toContain('secure-temporal:index:SecureTemporal$kubernetes:');
  });

  test('the plan: namespaces first, issuers before certificates, workloads after what they mount', () => {
    const { objects } = synthesizeObjects(withClients);
    const plan = planDeployment(objects);
    expect(plan).toHaveLength(objects.length);
    const index = new Map(plan.map((s, i) => [s.name, i]));
    for (const [i, step] of plan.entries()) {
      for (const dependency of step.dependsOn) {
        expect(index.get(dependency)).toBeLessThan(i);
      }
    }
    const namespace = plan.find((s) => s.object.kind === 'Namespace')!;
    expect(plan[0]).toBe(namespace);
    const certificates = plan.filter((s) => s.object.kind === 'Certificate').map((s) => s.name);
    const mounted = plan.filter((s) => ['ConfigMap', 'ServiceAccount'].includes(s.object.kind)).map((s) => s.name);
    const workloads = plan.filter((s) => ['Deployment', 'StatefulSet', 'Job'].includes(s.object.kind));
    expect(workloads.length).toBeGreaterThan(5);
    for (const workload of workloads) {
      expect(workload.afterCertificates).toBe(true);
      expect(workload.dependsOn).toEqual(expect.arrayContaining([namespace.name, ...certificates, ...mounted]));
    }
    for (const step of plan.filter((s) => s.object.kind === 'Certificate')) {
      expect(step.dependsOn).toEqual(expect.arrayContaining(plan.filter((s) => ['Issuer', 'ClusterIssuer'].includes(s.object.kind)).map((s) => s.name)));
    }
    // Everything in the installation's namespace waits for it; objects in other namespaces (cert-manager's, apps) cannot.
    for (const step of plan.filter((s) => s.object.metadata.namespace === 'temporal')) {
      expect(step.dependsOn).toContain(namespace.name);
    }
  });

  test('the plan: every Temporal server Deployment waits for both schema Jobs (an upgrade rolls servers after its schema)', () => {
    const { objects } = synthesizeObjects({ serverVersion: '1.31.2', runningServerVersion: '1.30.8' });
    const plan = planDeployment(objects);
    const jobs = plan.filter((s) => s.object.kind === 'Job' && s.object.metadata.name.includes('-schema-')).map((s) => s.name);
    expect(jobs).toHaveLength(2);
    const servers = plan.filter((s) => s.object.kind === 'Deployment' &&
      (s.object.spec as { template: { spec: { containers: { command?: string[] }[] } } }).template.spec.containers[0].command?.[0] === 'temporal-server');
    expect(servers.map((s) => s.object.metadata.name).sort()).toEqual(['temporal-frontend', 'temporal-history',
      'temporal-internal-frontend', 'temporal-matching', 'temporal-worker']);
    for (const server of servers) {
      expect(server.dependsOn).toEqual(expect.arrayContaining(jobs));
    }
    // Nothing else waits for them (the proxy, the UI, the database roll on their own), and they wait for no server.
    for (const step of plan.filter((s) => !servers.includes(s))) {
      expect(step.dependsOn.filter((d) => jobs.includes(d))).toEqual([]);
    }
  });

  test('the running version: read from the stack\'s last serverVersion output; the values\' own wins', async () => {
    referencedOutputs = { serverVersion: '1.30.8' };
    registered.length = 0;
    expect(await previousServerVersion()).toBe('1.30.8');
    // The reference is to this very stack.
    expect(registered.filter((r) => r.type === 'pulumi:pulumi:StackReference').map((r) => r.inputs.name))
      .toEqual(['organization/secure-temporal/test']);
    referencedOutputs = {};
    expect(await previousServerVersion()).toBeUndefined();
    const config = { certificates: 'cert-manager' as const, values: {} };
    expect(withRunningVersion(config, '1.30.8').values).toEqual({ runningServerVersion: '1.30.8' });
    expect(withRunningVersion(config, undefined)).toBe(config);
    const told = { ...config, values: { runningServerVersion: '1.31.0' } };
    expect(withRunningVersion(told, '1.30.8')).toBe(told);
  });

  test('an update two minors from the last one is refused before any resource is registered', async () => {
    registered.length = 0;
    await expect(upgradeProgram({ certificates: 'cert-manager', values: {} }, undefined, async () => '1.29.4'))
      .rejects.toThrow('2 minors ahead of the running 1.29.4');
    expect(registered.filter((r) => r.type.startsWith('kubernetes:'))).toEqual([]);
  });

  test('an update from the previous minor goes ahead, and says where it started from', async () => {
    const outputs = await upgradeProgram({ certificates: 'cert-manager', values: {} }, undefined, async () => '1.30.8');
    expect(await settle(outputs.previousServerVersion)).toBe('1.30.8');
    expect(await settle(outputs.serverVersion)).toBe('1.31.2');
  });

  test('the serverVersion output is the deployed release', async () => {
    const { component } = await deploy({ chart: { serverVersion: '1.30.8' } });
    expect(await settle(component.serverVersion)).toBe('1.30.8');
  });

  test('two objects with one Pulumi name are refused', () => {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'n' } };
    expect(() => planDeployment([object, object])).toThrow('two objects of the chart share the Pulumi name configmap-n-a');
  });

  test('bad certificates mode and a contradicting tls.issuance are refused with the field and the fix', () => {
    expect(() => new SecureTemporal('bad', { certificates: 'vault' as never })).toThrow(/certificates must be "cert-manager" or "pulumi-tls".*Fix:/);
    expect(() => new SecureTemporal('bad2', { certificates: 'pulumi-tls', chart: { tls: { issuance: 'cert-manager' } } }))
      .toThrow(/tls.issuance "cert-manager" contradicts certificates "pulumi-tls".*Fix: leave tls.issuance unset/);
  });

  test('a bad chart prop is the chart\'s ValidationError, before any resource', () => {
    registered.length = 0;
    expect(() => new SecureTemporal('bad3', { chart: { namespace: 'Not_A_Name' } })).toThrow(/namespace.*Fix:/);
    expect(registered.filter((r) => r.type.startsWith('kubernetes:'))).toEqual([]);
  });
});

describe('SecureTemporal (pulumi-tls)', () => {
  let specs: CertificateSpecification[];
  let resources: Registered[];
  let component: InstanceType<typeof SecureTemporal>;

  beforeAll(async () => {
    specs = synthesizeObjects({ ...withClients, tls: { issuance: 'provided' } }).chart.pki.specifications();
    ({ component, resources } = await deploy({ chart: withClients, certificates: 'pulumi-tls' }));
  });

  const byType = (suffix: string): Registered[] => resources.filter((r) => r.type.endsWith(suffix));

  test('no cert-manager object; one key, one certificate and one Secret per specification', () => {
    expect(resources.filter((r) => r.type.includes('cert-manager.io'))).toEqual([]);
    expect(specs.length).toBeGreaterThan(10);
    expect(byType(':PrivateKey')).toHaveLength(specs.length);
    expect(byType(':SelfSignedCert').length + byType(':LocallySignedCert').length).toBe(specs.length);
    expect(component.certificateSecrets).toHaveLength(specs.length);
  });

  test('each Secret: leaves in the cert-manager shape (tls.crt with the intermediates, tls.key PKCS#8, ca.crt the top); CAs without their key', () => {
    const bySpec = new Map(specs.map((s) => [s.ca, s]));
    const chainOf = (spec: CertificateSpecification): string[] => {
      const own = `CERT(${spec.namespace}-${spec.secretName}-cert)\n`;
      if (spec.issuer === 'self') return [own];
      const issuer = bySpec.get(spec.issuer)!;
      return [own, ...(issuer.issuer === 'self' ? [] : chainOf(issuer))];
    };
    const topOf = (spec: CertificateSpecification): string =>
      spec.issuer === 'self' ? `CERT(${spec.namespace}-${spec.secretName}-cert)\n` : topOf(bySpec.get(spec.issuer)!);
    for (const spec of specs) {
      const secret = resources.find((r) => r.type === 'kubernetes:core/v1:Secret' && r.name === `${spec.namespace}-${spec.secretName}`);
      expect(secret).toBeDefined();
      expect(secret!.inputs.metadata).toEqual({ name: spec.secretName, namespace: spec.namespace, labels: spec.labels });
      // The whole stringData reaches the engine as a secret.
      const data = secretValue(secret!.inputs.stringData) as Record<string, string>;
      if (spec.role === 'ca') {
        // Nothing in the cluster signs: a CA's key stays in the Pulumi state.
        expect(secret!.inputs.type).toBe('Opaque');
        expect(Object.keys(data).sort()).toEqual(['ca.crt', 'tls.crt']);
      } else {
        expect(secret!.inputs.type).toBe('kubernetes.io/tls');
        expect(Object.keys(data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
        expect(data['tls.key']).toBe(`PKCS8(${spec.namespace}-${spec.secretName}-key)`);
      }
      expect(data['ca.crt']).toBe(topOf(spec));
      expect(data['tls.crt']).toBe(chainOf(spec).join(''));
    }
    expect(specs.filter((s) => s.role === 'ca').length).toBeGreaterThanOrEqual(4);
    // A leaf of a purpose CA carries that CA after it; the purpose CA's own Secret carries only itself (the root is ca.crt).
    const leaf = specs.find((s) => s.role === 'server' && s.issuer === 'frontend')!;
    expect((secretValue(resources.find((r) => r.name === `${leaf.namespace}-${leaf.secretName}`)!.inputs.stringData) as Record<string, string>)['tls.crt']
      .match(/CERT\(/g)).toHaveLength(2);
  });

  test('each certificate is what its specification says: subject, SANs, usages, CA flag, lifetime, early renewal, signer', () => {
    const bySpec = new Map(specs.map((s) => [s.ca, s]));
    for (const spec of specs) {
      const name = `${spec.namespace}-${spec.secretName}`;
      const cert = resources.find((r) => r.name === `${name}-cert`)!;
      expect(cert.inputs.allowedUses).toEqual(allowedUses(spec.usages));
      expect(cert.inputs.isCaCertificate).toBe(spec.role === 'ca');
      expect(cert.inputs.validityPeriodHours).toBe(hours(spec.lifetime.duration));
      expect(cert.inputs.earlyRenewalHours).toBe(hours(spec.lifetime.renewBefore));
      expect(cert.inputs.earlyRenewalHours as number).toBeLessThan(cert.inputs.validityPeriodHours as number);
      const subjectHolder = spec.issuer === 'self' ? cert : resources.find((r) => r.name === `${name}-csr`)!;
      const subject = (subjectHolder.inputs.subject ?? {}) as Record<string, unknown>;
      expect(subject.commonName).toBe(spec.commonName);
      expect(subject.organizationalUnit).toBe(spec.organizationalUnits?.[0]);
      expect(subjectHolder.inputs.dnsNames ?? []).toEqual(spec.dnsNames);
      expect(subjectHolder.inputs.uris ?? []).toEqual(spec.uris);
      if (spec.issuer === 'self') {
        expect(cert.type).toBe('tls:index/selfSignedCert:SelfSignedCert');
      } else {
        const issuer = bySpec.get(spec.issuer)!;
        expect(cert.type).toBe('tls:index/locallySignedCert:LocallySignedCert');
        expect(cert.inputs.caCertPem).toBe(`CERT(${issuer.namespace}-${issuer.secretName}-cert)\n`);
        expect(secretValue(cert.inputs.caPrivateKeyPem)).toBe(`KEY(${issuer.namespace}-${issuer.secretName}-key)`);
        expect(cert.inputs.certRequestPem).toBe(`CSR(${name}-csr)`);
      }
      const key = resources.find((r) => r.name === `${name}-key`)!;
      expect(key.inputs.algorithm).toBe(spec.privateKey.algorithm === 'Ed25519' ? 'ED25519' : spec.privateKey.algorithm);
    }
    // The workload client's certificate names its SPIFFE identity.
    const client = specs.find((s) => s.role === 'workload-client')!;
    expect(client.uris[0]).toMatch(/^spiffe:\/\/.*\/ns\/apps\/temporal-client\/orders-worker$/);
  });

  test('the Secrets\' data is a Pulumi secret, and every key reaches what uses it as one', async () => {
    const isSecret = (output: unknown): Promise<boolean> => (output as { isSecret: Promise<boolean> }).isSecret;
    for (const secret of component.certificateSecrets) {
      expect(await isSecret((secret as unknown as { stringData: pulumi.Output<unknown> }).stringData)).toBe(true);
    }
    expect(component.certificateKeys).toHaveLength(specs.length);
    // The engine receives each key wrapped as a secret wherever it goes: CSRs, self-signed and CA-signed certificates.
    for (const r of resources.filter((x) => x.type.startsWith('tls:index/') && !x.type.endsWith(':PrivateKey'))) {
      const pem = r.inputs.privateKeyPem ?? r.inputs.caPrivateKeyPem;
      expect([r.name, typeof secretValue(pem)]).toEqual([r.name, 'string']);
    }
  });

  test('lifetimes that are not whole hours are refused in pulumi-tls mode (rounding could renew at every up)', () => {
    expect(() => new SecureTemporal('halfhour', { certificates: 'pulumi-tls',
      chart: { tls: { leafDuration: Duration.hours(2160), leafRenewBefore: Duration.minutes(721 * 60 + 30) } } }))
      .toThrow(/renewBefore of 43290m is not a whole number of hours.*Fix: in pulumi-tls mode give tls durations and renewBefore in whole/);
  });

  test('workloads wait for the minted Secrets; the Secrets wait for the namespace', () => {
    const namespace = resources.findIndex((r) => r.type === 'kubernetes:core/v1:Namespace');
    const firstSecret = resources.findIndex((r) => r.type === 'kubernetes:core/v1:Secret');
    const firstWorkload = resources.findIndex((r) => r.type === 'kubernetes:apps/v1:Deployment');
    expect(namespace).toBeLessThan(firstSecret);
    expect(firstSecret).toBeLessThan(firstWorkload);
  });

  test('lifetimes convert to whole hours; usages to @pulumi/tls names', () => {
    expect(hours('2160h')).toBe(2160);
    expect(hours('120m')).toBe(2);
    expect(() => hours('90m')).toThrow('not a whole number of hours');
    expect(() => hours('2d')).toThrow('not a lifetime');
    expect(allowedUses(['cert sign', 'crl sign', 'digital signature', 'server auth', 'client auth', 'key encipherment']))
      .toEqual(['cert_signing', 'crl_signing', 'digital_signature', 'server_auth', 'client_auth', 'key_encipherment']);
  });
});
