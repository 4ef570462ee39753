import * as path from 'node:path';
import { Secret } from 'cdk8s-plus-27';
import type { IJob } from 'kubernetes-models/batch/v1';
import { ResolvedSqlStore, SqlStoreProps, resolveSqlStore } from '../../lib/temporal/persistence';
import { SchemaJob, schemaSteps, sqlToolEnv } from '../../lib/temporal/schema-job';
import { clusterOutput, passwordRef, postgresStore } from '../fixtures';
import {
  K8sObject, allContainers, envValue, envVar, findAll, findByPrefix, synth, testChart,
} from '../util';
import { resolveServerVersion } from '../../lib/temporal/versions';

const IMAGE = 'temporalio/admin-tools:1.31.2';

function store(role: 'default' | 'visibility', overrides: Partial<SqlStoreProps> = {}): ResolvedSqlStore {
  const chart = testChart();
  return resolveSqlStore('test', role, postgresStore(chart, role === 'default' ? 'temporal' : 'temporal_visibility', overrides));
}

/** Synthesizes one SchemaJob alone and returns its Job. */
function schemaJob(s: ResolvedSqlStore, image = IMAGE, instance = 'temporal'): IJob & K8sObject {
  const chart = testChart();
  new SchemaJob(chart, 'Schema', { instance, store: s, image, version: resolveServerVersion('test', {}), serviceAccountName: 'temporal-jobs' });
  return findByPrefix(synth(chart), 'Job', `${instance}-schema-${s.role}-`);
}

function steps(job: IJob): { name: string; args?: string[] }[] {
  return allContainers(job.spec?.template.spec ?? { containers: [] }).map((c) => ({ name: c.name, args: c.args }));
}

describe('SchemaJob', () => {
  it('does run the same steps as before (change detector)', () => {
    const job = schemaJob(store('default'));
    expect({ name: job.metadata.name, steps: steps(job) }).toMatchSnapshot();
  });

  it('does create the database, set up versioning, then update to the embedded PostgreSQL schema', () => {
    const spec = schemaJob(store('default')).spec?.template.spec;
    expect(spec?.initContainers?.map((c) => c.args)).toEqual([['create-database'], ['setup-schema', '-v', '0.0']]);
    expect(spec?.containers.map((c) => c.args)).toEqual([['update-schema', '--schema-name', 'postgresql/v12/temporal']]);
    expect(allContainers(spec!).every((c) => c.command?.join(' ') === 'temporal-sql-tool' && c.image === IMAGE)).toBe(true);
  });

  it.each([
    ['postgres12', 'default', 'postgresql/v12/temporal'],
    ['postgres12_pgx', 'visibility', 'postgresql/v12/visibility'],
    ['mysql8', 'default', 'mysql/v8/temporal'],
    ['mysql8', 'visibility', 'mysql/v8/visibility'],
  ] as const)('does update a %s %s store with --schema-name %s', (plugin, role, schema) => {
    const s = store(role, { plugin });
    expect(schemaSteps(s).at(-1)).toEqual({ name: 'update-schema', args: ['update-schema', '--schema-name', schema] });
    expect(envValue(schemaJob(s).spec!.template.spec!.containers[0], 'SQL_PLUGIN')).toBe(plugin);
  });

  it('does skip create-database when createDatabase is false', () => {
    expect(schemaSteps(store('default', { createDatabase: false })).map((s) => s.name))
      .toEqual(['setup-versioning', 'update-schema']);
    expect(schemaJob(store('default', { createDatabase: false })).spec?.template.spec?.initContainers?.map((c) => c.name))
      .toEqual(['setup-versioning']);
  });

  it('does give every step the connection env, with the password only from its Secret', () => {
    const s = store('visibility', { port: 6432 });
    for (const container of allContainers(schemaJob(s).spec!.template.spec!)) {
      expect(envValue(container, 'SQL_HOST')).toBe('pg.db.example.internal');
      expect(envValue(container, 'SQL_PORT')).toBe('6432');
      expect(envValue(container, 'SQL_USER')).toBe('temporal');
      expect(envValue(container, 'SQL_DATABASE')).toBe('temporal_visibility');
      expect(envVar(container, 'SQL_PASSWORD')).toEqual({ name: 'SQL_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'db-password', key: 'password' } } });
    }
  });

  it('does bracket an IPv6 SQL_HOST so temporal-sql-tool can split host and port', () => {
    const env = sqlToolEnv(store('default', { host: 'fd00::5' }));
    expect(env.find((e) => e.name === 'SQL_HOST')?.value).toBe('[fd00::5]');
  });

  it('does pass connect attributes as the query string temporal-sql-tool parses', () => {
    const attributes = { tx_isolation: "'READ-COMMITTED'", b: 'x y&z' };
    const env = sqlToolEnv(store('default', { plugin: 'mysql8', connectAttributes: attributes }));
    const query = env.find((e) => e.name === 'SQL_CONNECT_ATTRIBUTES')?.value ?? '';
    expect(Object.fromEntries(new URLSearchParams(query))).toEqual(attributes);
    expect(sqlToolEnv(store('default')).map((e) => e.name)).not.toContain('SQL_CONNECT_ATTRIBUTES');
  });

  it('does set SQL_TLS_* and mount the CA and client certificate when the store uses TLS', () => {
    const chart = testChart();
    const tls = { ca: { secret: Secret.fromSecretName(chart, 'Ca', 'db-ca'), key: 'ca.pem' },
      clientCertificate: Secret.fromSecretName(chart, 'Client', 'db-client') };
    const s = resolveSqlStore('test', 'default', postgresStore(chart, 'temporal', { tls }));
    const spec = schemaJob(s).spec!.template.spec!;
    for (const container of allContainers(spec)) {
      expect(envValue(container, 'SQL_TLS')).toBe('true');
      expect(envValue(container, 'SQL_TLS_SERVER_NAME')).toBe('pg.db.example.internal');
      expect(envValue(container, 'SQL_TLS_DISABLE_HOST_VERIFICATION')).toBe('false');
      for (const name of ['SQL_TLS_CA_FILE', 'SQL_TLS_CERT_FILE', 'SQL_TLS_KEY_FILE']) {
        const file = envValue(container, name);
        const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === path.dirname(file));
        const volume = (spec.volumes ?? []).find((v) => v.name === mount?.name);
        expect(volume?.secret?.items?.map((i) => i.path)).toContain(path.basename(file));
      }
    }
    expect((spec.volumes ?? []).find((v) => v.name === 'db-default-ca')?.secret?.secretName).toBe('db-ca');
    expect((spec.volumes ?? []).find((v) => v.name === 'db-default-client')?.secret?.secretName).toBe('db-client');
  });

  it('does disable host verification in the job only when the store does', () => {
    const chart = testChart();
    const ca = { secret: Secret.fromSecretName(chart, 'Ca', 'db-ca'), key: 'ca.crt' };
    const env = sqlToolEnv(resolveSqlStore('test', 'default',
      postgresStore(chart, 'temporal', { tls: { ca, enableHostVerification: false, serverName: 'db.internal' } })));
    expect(env.find((e) => e.name === 'SQL_TLS_DISABLE_HOST_VERIFICATION')?.value).toBe('true');
    expect(env.find((e) => e.name === 'SQL_TLS_SERVER_NAME')?.value).toBe('db.internal');
    expect(env.map((e) => e.name)).not.toContain('SQL_TLS_CERT_FILE');
    expect(sqlToolEnv(store('default')).map((e) => e.name).filter((n) => n.startsWith('SQL_TLS'))).toEqual([]);
  });

  it('does keep the Job name stable for the same inputs', () => {
    expect(schemaJob(store('default')).metadata.name).toBe(schemaJob(store('default')).metadata.name);
    expect(schemaJob(store('default')).metadata.name).toMatch(/^temporal-schema-default-[0-9a-f]{8}$/);
  });

  it('does rename the Job when the admin tools image changes', () => {
    expect(schemaJob(store('default'), 'temporalio/admin-tools:1.31.3').metadata.name)
      .not.toBe(schemaJob(store('default')).metadata.name);
  });

  it('does rename the Job when what it runs changes', () => {
    expect(schemaJob(store('default', { host: 'other.db' })).metadata.name)
      .not.toBe(schemaJob(store('default')).metadata.name);
  });

  it('does retry on failure under the jobs ServiceAccount without an API token', () => {
    const spec = schemaJob(store('default')).spec;
    expect(spec?.template.spec?.restartPolicy).toBe('OnFailure');
    expect(spec?.backoffLimit).toBeGreaterThan(0);
    expect(spec?.template.spec?.serviceAccountName).toBe('temporal-jobs');
    expect(spec?.template.spec?.automountServiceAccountToken).toBe(false);
  });

  it('does create one schema Job per store in a cluster, using the cluster admin tools image', () => {
    const { objs } = clusterOutput({ adminToolsImage: 'registry.example/admin-tools:1.31.2' });
    const jobs = findAll(objs, 'Job').filter((j) => j.metadata.name.startsWith('temporal-schema-'));
    expect(jobs.map((j) => j.metadata.name.replace(/-[0-9a-f]{8}$/, ''))).toEqual(['temporal-schema-default', 'temporal-schema-visibility']);
    expect(jobs.flatMap((j) => allContainers(j.spec!.template.spec!).map((c) => c.image)))
      .toEqual(Array(6).fill('registry.example/admin-tools:1.31.2'));
  });

  it('does keep Job names within 63 characters for the longest cluster name', () => {
    const name = 'a'.repeat(30);
    const s = resolveSqlStore('test', 'visibility', {
      plugin: 'postgres12', host: 'db', database: 'v', user: 'u', password: passwordRef(testChart()),
    });
    expect(schemaJob(s, IMAGE, name).metadata.name.length).toBeLessThanOrEqual(63);
  });
});
