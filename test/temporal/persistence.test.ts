import { Duration } from 'cdk8s';
import { Secret } from 'cdk8s-plus-27';
import { SqlStoreProps, isPostgres, resolveSqlStore, schemaName } from '../../lib/temporal/persistence';
import { passwordRef, postgresStore } from '../fixtures';
import { expectValidationError, testChart } from '../util';

function props(overrides: Partial<SqlStoreProps> = {}): SqlStoreProps {
  return postgresStore(testChart(), 'temporal', overrides);
}

describe('resolveSqlStore', () => {
  it('does resolve the same defaults as before (change detector)', () => {
    const { password, ...rest } = resolveSqlStore('test', 'default', props());
    expect({ ...rest, password: { secret: password!.secret.name, key: password!.key } }).toMatchSnapshot();
  });

  it('does default the port by plugin', () => {
    expect(resolveSqlStore('test', 'default', props({ plugin: 'postgres12' })).port).toBe(5432);
    expect(resolveSqlStore('test', 'default', props({ plugin: 'postgres12_pgx' })).port).toBe(5432);
    expect(resolveSqlStore('test', 'default', props({ plugin: 'mysql8' })).port).toBe(3306);
    expect(resolveSqlStore('test', 'default', props({ plugin: 'mysql8', port: 3307 })).port).toBe(3307);
  });

  it('does default maxIdleConns to maxConns and the connection lifetime to one hour', () => {
    const store = resolveSqlStore('test', 'default', props({ maxConns: 50 }));
    expect([store.maxConns, store.maxIdleConns, store.maxConnLifetime]).toEqual([50, 50, '1h']);
    expect(resolveSqlStore('test', 'default', props({ maxConnLifetime: Duration.minutes(5) })).maxConnLifetime).toBe('5m');
  });

  it('does give each role its own password env var', () => {
    expect(resolveSqlStore('test', 'default', props()).passwordEnv).toBe('TEMPORAL_DEFAULT_STORE_PASSWORD');
    expect(resolveSqlStore('test', 'visibility', props()).passwordEnv).toBe('TEMPORAL_VISIBILITY_STORE_PASSWORD');
  });

  it('does verify the database host name by default when TLS is on', () => {
    const chart = testChart();
    const ca = { secret: Secret.fromSecretName(chart, 'Ca', 'ca'), key: 'ca.crt' };
    const tls = resolveSqlStore('test', 'visibility', postgresStore(chart, 'v', { tls: { ca } })).tls;
    expect(tls).toMatchObject({ enableHostVerification: true, serverName: 'pg.db.example.internal',
      mountPath: '/etc/temporal/tls/db-visibility' });
    expect(resolveSqlStore('test', 'default', props()).tls).toBeUndefined();
  });

  it('does create the database by default', () => {
    expect(resolveSqlStore('test', 'default', props()).createDatabase).toBe(true);
    expect(resolveSqlStore('test', 'default', props({ createDatabase: false })).createDatabase).toBe(false);
  });

  it('does accept IP addresses as host', () => {
    expect(resolveSqlStore('test', 'default', props({ host: '10.0.0.5' })).host).toBe('10.0.0.5');
    expect(resolveSqlStore('test', 'default', props({ host: 'fd00::5' })).host).toBe('fd00::5');
  });

  it('does copy connect attributes so later changes to the input do not leak in', () => {
    const attributes: Record<string, string> = { a: '1' };
    const store = resolveSqlStore('test', 'default', props({ connectAttributes: attributes }));
    attributes.b = '2';
    expect(store.connectAttributes).toEqual({ a: '1' });
  });

  describe('validation', () => {
    it('fails when the store is missing', () => {
      expectValidationError(() => resolveSqlStore('test', 'visibility', undefined), 'INVALID_STORE',
        { path: 'test/VisibilityStore', value: 'nothing' });
    });

    it.each(['sqlite', 'postgres', 'mysql', 'cassandra'])('fails when plugin is %j', (plugin) => {
      expectValidationError(() => resolveSqlStore('test', 'default', props({ plugin: plugin as never })), 'INVALID_STORE',
        { path: 'test/DefaultStore', value: JSON.stringify(plugin) });
    });

    it.each(['', 'db host', '-db', 'db.', 'pg.example:5432', 'postgres://db'])('fails when host is %j', (host) => {
      expectValidationError(() => resolveSqlStore('test', 'default', props({ host })), 'INVALID_STORE',
        { path: 'test/DefaultStore', value: JSON.stringify(host) });
    });

    it.each(['db:5432', 'cafe:5432', '1:2'])('fails when host is %j (host:port that looks like IPv6)', (host) => {
      expectValidationError(() => resolveSqlStore('test', 'default', props({ host })), 'INVALID_STORE',
        { path: 'test/DefaultStore', value: JSON.stringify(host) });
    });

    it.each([0, 65536, 5432.5, -1])('fails when port is %p', (port) => {
      expectValidationError(() => resolveSqlStore('test', 'default', props({ port })), 'INVALID_PORT',
        { path: 'test/DefaultStore', value: String(port) });
    });

    it.each(['', 'temporal-db', 'temporal;drop', '1temporal', 'a'.repeat(64), 'tem poral'])(
      'fails when database is %j', (database) => {
        expectValidationError(() => resolveSqlStore('test', 'default', props({ database })), 'INVALID_STORE',
          { path: 'test/DefaultStore', value: JSON.stringify(database) });
      });

    it.each(['', "temporal'--", 'user name'])('fails when user is %j', (user) => {
      expectValidationError(() => resolveSqlStore('test', 'default', props({ user })), 'INVALID_STORE',
        { path: 'test/DefaultStore', value: JSON.stringify(user) });
    });

    it('fails when the store has no password source', () => {
      const err = expectValidationError(() => resolveSqlStore('test', 'default', props({ password: undefined })),
        'MISSING_PASSWORD_SOURCE', { path: 'test/DefaultStore', value: 'nothing' });
      expect(err.message).toContain('never accepted as literals');
    });

    it('fails when the password key is empty', () => {
      const chart = testChart();
      const password = { ...passwordRef(chart), key: '' };
      expectValidationError(() => resolveSqlStore('test', 'default', postgresStore(chart, 'temporal', { password })),
        'MISSING_PASSWORD_SOURCE', { path: 'test/DefaultStore' });
    });

    it.each([
      ['maxIdleConns above maxConns', { maxConns: 10, maxIdleConns: 11 }, '{"maxConns":10,"maxIdleConns":11}'],
      ['maxConns of 0', { maxConns: 0, maxIdleConns: 0 }, '{"maxConns":0,"maxIdleConns":0}'],
      ['negative maxIdleConns', { maxIdleConns: -1 }, '{"maxConns":20,"maxIdleConns":-1}'],
      ['fractional maxConns', { maxConns: 1.5, maxIdleConns: 1 }, '{"maxConns":1.5,"maxIdleConns":1}'],
    ])('fails with %s', (_what, overrides, got) => {
      expectValidationError(() => resolveSqlStore('test', 'default', props(overrides)), 'INVALID_STORE',
        { path: 'test/DefaultStore', value: got });
    });

    it('fails when maxConnLifetime is zero', () => {
      expectValidationError(() => resolveSqlStore('test', 'default', props({ maxConnLifetime: Duration.seconds(0) })),
        'INVALID_DURATION', { path: 'test/DefaultStore', value: '0' });
    });
  });
});

describe('schemaName', () => {
  it.each([
    ['postgres12', 'default', 'postgresql/v12/temporal'],
    ['postgres12_pgx', 'visibility', 'postgresql/v12/visibility'],
    ['mysql8', 'default', 'mysql/v8/temporal'],
    ['mysql8', 'visibility', 'mysql/v8/visibility'],
  ] as const)('does map %s %s to %s', (plugin, role, expected) => {
    expect(schemaName({ plugin, role })).toBe(expected);
  });

  it('does tell PostgreSQL plugins from MySQL', () => {
    expect([isPostgres('postgres12'), isPostgres('postgres12_pgx'), isPostgres('mysql8')]).toEqual([true, true, false]);
  });
});
