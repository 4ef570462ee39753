import { Secret } from 'cdk8s-plus-27';
import {
  certificateHbaConf, EVALUATION_ONLY_ANNOTATION, EvaluationPostgres, EvaluationPostgresProps,
} from '../../lib/temporal/evaluation-postgres';
import { TemporalPki } from '../../lib/tls/pki';
import { POSTGRES_PORT } from '../../lib/temporal/ports';
import { passwordRef } from '../fixtures';
import {
  K8sObject, containerOf, envValue, expectAtomicFailure, expectValidationError, findObject, podTemplate, synth, testChart,
} from '../util';

function postgres(props: Partial<EvaluationPostgresProps> = {}): { db: EvaluationPostgres; objs: K8sObject[] } {
  const chart = testChart();
  const db = new EvaluationPostgres(chart, 'Postgres', { password: passwordRef(chart, 'pg-pw'), ...props });
  return { db, objs: synth(chart) };
}

const container = (objs: readonly K8sObject[]) =>
  containerOf(podTemplate(objs, 'StatefulSet', 'temporal-postgres').spec, 'postgres');

describe('EvaluationPostgres', () => {
  it('does render the same StatefulSet spec as before (change detector)', () => {
    const c = container(postgres().objs);
    expect({ image: c.image, env: c.env, mounts: c.volumeMounts, probe: c.readinessProbe }).toMatchSnapshot();
  });

  it('does mark every object it creates as evaluation-only', () => {
    const { objs } = postgres();
    expect(objs.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.annotations?.[EVALUATION_ONLY_ANNOTATION]]))
      .toEqual([
        ['ServiceAccount/temporal-postgres', 'true'],
        ['Service/temporal-postgres', 'true'],
        ['StatefulSet/temporal-postgres', 'true'],
      ]);
    expect(podTemplate(objs, 'StatefulSet', 'temporal-postgres').metadata.annotations?.[EVALUATION_ONLY_ANNOTATION]).toBe('true');
  });

  it('does read the password from a file mounted from its Secret, never from a literal', () => {
    const { objs } = postgres();
    const c = container(objs);
    const file = envValue(c, 'POSTGRES_PASSWORD_FILE');
    expect((c.env ?? []).map((e) => e.name)).not.toContain('POSTGRES_PASSWORD');
    const mount = (c.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = (podTemplate(objs, 'StatefulSet', 'temporal-postgres').spec.volumes ?? []).find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe('pg-pw');
    expect(volume?.secret?.items).toEqual([{ key: 'password', path: file.slice((mount?.mountPath.length ?? 0) + 1) }]);
  });

  it('does run one replica with a persistent volume behind a headless Service', () => {
    const { objs } = postgres({ storage: '20Gi', storageClassName: 'fast' });
    const sts = findObject(objs, 'StatefulSet', 'temporal-postgres');
    expect(sts.spec?.replicas).toBe(1);
    expect(sts.spec?.serviceName).toBe('temporal-postgres');
    expect(sts.spec?.volumeClaimTemplates?.[0].spec).toEqual({
      accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '20Gi' } },
    });
    const svc = findObject(objs, 'Service', 'temporal-postgres');
    expect(svc.spec?.clusterIP).toBe('None');
    expect(svc.spec?.ports?.map((p) => p.port)).toEqual([POSTGRES_PORT]);
  });

  it('does offer stores on itself for the given database', () => {
    const { db } = postgres({ clusterDomain: 'k8s.example' });
    const store = db.store('temporal_visibility');
    expect(store).toMatchObject({
      plugin: 'postgres12_pgx', host: 'temporal-postgres.temporal.svc.k8s.example', port: POSTGRES_PORT,
      database: 'temporal_visibility', user: 'temporal',
    });
    expect(store.password?.secret.name).toBe('pg-pw');
  });

  it('does run as the postgres image user with no API token', () => {
    const pod = podTemplate(postgres().objs, 'StatefulSet', 'temporal-postgres');
    expect(pod.spec.securityContext?.runAsUser).toBe(999);
    expect(pod.spec.automountServiceAccountToken).toBe(false);
  });

  describe('with a PKI (certificate authentication)', () => {
    function withPki(props: Partial<EvaluationPostgresProps> = {}) {
      const chart = testChart();
      const pki = new TemporalPki(chart, 'Pki');
      const db = new EvaluationPostgres(chart, 'Postgres', { pki, ...props });
      return { db, objs: synth(chart) };
    }

    it('does serve TLS with a certificate whose SANs are its Service names, and verify clients against the database-clients CA only', () => {
      const { db, objs } = withPki();
      expect(db.serverIdentity?.dnsNames).toEqual(expect.arrayContaining(['temporal-postgres.temporal.svc.cluster.local']));
      const args = container(objs).args ?? [];
      expect(args.filter((_a, i) => args[i - 1] === '-c')).toEqual([
        'ssl=on', 'ssl_cert_file=/etc/postgres/tls/tls.crt', 'ssl_key_file=/etc/postgres/tls/tls.key',
        'ssl_ca_file=/etc/postgres/trust/database-clients-ca.crt', 'ssl_min_protocol_version=TLSv1.2',
        'hba_file=/etc/postgres/hba/pg_hba.conf',
      ]);
      expect(certificateHbaConf()).not.toMatch(/^host\s/m);
      // The trust volume is the database-clients CA's certificate: a self-signed CA of its own that issues the
      // database client certificate and nothing else (not the root, which every certificate of the PKI chains to).
      const volumes = podTemplate(objs, 'StatefulSet', 'temporal-postgres').spec.volumes ?? [];
      expect(volumes.find((v) => v.name === 'trust')?.secret).toEqual({ secretName: 'temporal-database-clients-ca',
        items: [{ key: 'tls.crt', path: 'database-clients-ca.crt' }], defaultMode: 0o444 });
      const ca = objs.find((o) => o.kind === 'Certificate' && o.metadata.name === 'temporal-database-clients-ca');
      expect(ca?.spec).toMatchObject({ isCA: true, issuerRef: { kind: 'Issuer', name: 'temporal-database-clients-bootstrap' } });
      expect(objs.find((o) => o.kind === 'Issuer' && o.metadata.name === 'temporal-database-clients-bootstrap')?.spec)
        .toEqual({ selfSigned: {} });
      const issued = objs.filter((o) => o.kind === 'Certificate' &&
        (o.spec as { issuerRef?: { name?: string } }).issuerRef?.name === 'temporal-database-clients-ca');
      // The database's own server certificate (server auth only: it cannot log in) and the client certificate.
      expect(issued.map((o) => (o.spec as { commonName?: string }).commonName))
        .toEqual(['temporal-postgres.temporal.svc.cluster.local', 'temporal']);
      expect(issued.map((o) => (o.spec as { usages?: string[] }).usages))
        .toEqual([['digital signature', 'server auth'], ['digital signature', 'client auth']]);
      expect(db.clientIdentity?.issuedBy).toBe('database-clients');
      expect(db.serverIdentity?.issuedBy).toBe('database-clients');
      // PostgreSQL reads its certificate at start: the pod names the server certificate's issuer, so that it rolls when
      // the issuer changes (as on the upgrade that moved it from the frontend CA).
      expect(podTemplate(objs, 'StatefulSet', 'temporal-postgres').metadata?.annotations?.['secure-temporal.io/server-certificate-issuer'])
        .toBe('temporal-database-clients-ca');
    });

    it('does give stores a client certificate and full verification instead of a password', () => {
      const { db } = withPki();
      const store = db.store('temporal');
      expect(store.password).toBeUndefined();
      expect(store.tls?.enableHostVerification).toBe(true);
      expect(store.tls?.clientCertificate?.name).toBe(db.clientIdentity?.secretName);
      // The server is verified against the database-clients CA that issued its certificate (no purpose CA of the trust
      // graph: a rollover of those never touches the database).
      expect([store.tls?.ca.secret.name, store.tls?.ca.key]).toEqual(['temporal-database-clients-ca', 'tls.crt']);
      expect(db.clientIdentity?.dnsNames ?? []).toEqual([]);
    });

    it('fails when a password is also given', () => {
      expectValidationError(() => {
        const chart = testChart();
        new EvaluationPostgres(chart, 'Postgres', { pki: new TemporalPki(chart, 'Pki'),
          password: passwordRef(chart, 'pg-pw') });
      }, 'INVALID_STORE', { path: 'test/Postgres' });
    });
  });

  describe('validation', () => {
    it.each(['Temporal', 'a'.repeat(31), 'tem.poral'])('fails when name is %j', (name) => {
      expectValidationError(() => postgres({ name }), 'INVALID_NAME', { path: 'test/Postgres', value: JSON.stringify(name) });
    });

    // `name` prefixes Service `<name>-postgres`, which must be an RFC 1035 label (start with a letter).
    it('fails when name starts with a digit', () => {
      expectValidationError(() => postgres({ name: '1temporal' }), 'INVALID_NAME', { path: 'test/Postgres', value: '"1temporal"' });
    });

    it.each(['Temporal', 'temporal-user', '1temporal'])('fails when user is %j', (user) => {
      expectValidationError(() => postgres({ user }), 'INVALID_STORE', { path: 'test/Postgres', value: JSON.stringify(user) });
    });

    it('fails when there is no password source', () => {
      expectValidationError(() => postgres({ password: undefined }), 'MISSING_PASSWORD_SOURCE',
        { path: 'test/Postgres', value: 'nothing' });
    });

    it('fails when the password key is empty', () => {
      const chart = testChart();
      const password = { secret: Secret.fromSecretName(chart, 'S', 'pg'), key: '' };
      expectValidationError(() => new EvaluationPostgres(chart, 'Postgres', { password }),
        'MISSING_PASSWORD_SOURCE', { path: 'test/Postgres' });
    });

    it.each(['10GB', '10', '1.5Gi', ''])('fails when storage is %j', (storage) => {
      expectValidationError(() => postgres({ storage }), 'INVALID_RESOURCES', { path: 'test/Postgres', value: JSON.stringify(storage) });
    });

    it.each(['postgres:latest', 'postgres'])('fails when image is %j', (image) => {
      expectValidationError(() => postgres({ image }), 'INVALID_IMAGE', { path: 'test/Postgres', value: JSON.stringify(image) });
    });

    it('fails when resources are invalid', () => {
      const resources = { cpu: '250m', memory: '1Gi', memoryLimit: '512Mi' };
      expectValidationError(() => postgres({ resources }), 'INVALID_RESOURCES', { path: 'test/Postgres', value: JSON.stringify(resources) });
    });

    it.each([
      ['name', { name: 'Bad' }, 'INVALID_NAME'],
      ['storage', { storage: '10GB' }, 'INVALID_RESOURCES'],
      ['image', { image: 'postgres:latest' }, 'INVALID_IMAGE'],
    ] as const)('does leave no objects behind when %s is invalid', (_prop, props, code) => {
      expectAtomicFailure(() => undefined, (chart) => new EvaluationPostgres(chart, 'Postgres', {
        password: passwordRef(chart), ...props,
      }), code);
    });

    it('does leave no objects behind when resources are invalid', () => {
      expectAtomicFailure(() => undefined, (chart) => new EvaluationPostgres(chart, 'Postgres', {
        password: passwordRef(chart), resources: { cpu: '1', memory: '1Gi', memoryLimit: '1Mi' },
      }), 'INVALID_RESOURCES');
    });
  });
});
