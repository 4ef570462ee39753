import { parse } from 'yaml';
import { resolveSqlStore } from '../../lib/temporal/persistence';
import { buildServerConfig, configEnvNames, renderServerConfig } from '../../lib/temporal/server-config';

const secret = { name: 'db', node: undefined } as never;
const store = (role: 'default' | 'visibility') => resolveSqlStore('Test', role, {
  plugin: 'postgres12_pgx', host: 'db.example.internal', database: role === 'default' ? 'temporal' : 'temporal_visibility',
  user: 'temporal', password: { secret, key: 'password' },
});

function render() {
  const config = buildServerConfig({
    services: ['frontend', 'history', 'matching', 'worker'],
    numHistoryShards: 4,
    defaultStore: store('default'),
    visibilityStore: store('visibility'),
    frontendAddress: 'temporal-frontend.temporal.svc.cluster.local:7233',
    frontendHttpAddress: 'temporal-frontend.temporal.svc.cluster.local:7243',
    dynamicConfigPath: '/etc/temporal/dynamicconfig/dynamic_config.yaml',
    dynamicConfigPollSeconds: 10,
    logLevel: 'info',
    podIpEnv: 'POD_IP',
  });
  return { config, text: renderServerConfig(config) };
}

describe('renderServerConfig', () => {
  it('does start with the enable-template marker within the first 1024 bytes', () => {
    const { text } = render();
    expect(text.split('\n')[0]).toBe('# enable-template');
  });

  it('does reference passwords and the pod IP only through env templates', () => {
    const { config, text } = render();
    expect(text).toContain('password: {{ env "TEMPORAL_DEFAULT_STORE_PASSWORD" | quote }}');
    expect(text).toContain('broadcastAddress: {{ env "POD_IP" | quote }}');
    expect(configEnvNames(config)).toEqual(['POD_IP', 'TEMPORAL_DEFAULT_STORE_PASSWORD', 'TEMPORAL_VISIBILITY_STORE_PASSWORD']);
  });

  it('does render valid YAML once the server has substituted the templates', () => {
    const { text } = render();
    const substituted = text.replace(/\{\{ env "([A-Z_]+)" \| quote \}\}/g, (_m, n: string) => JSON.stringify(`value-of-${n}`));
    const doc = parse(substituted);
    expect(doc.persistence.numHistoryShards).toBe(4);
    expect(doc.persistence.datastores.default.sql.password).toBe('value-of-TEMPORAL_DEFAULT_STORE_PASSWORD');
    expect(doc.services.frontend.rpc).toEqual({ grpcPort: 7233, membershipPort: 6933, bindOnIP: '0.0.0.0', httpPort: 7243 });
  });
});

describe('buildServerConfig', () => {
  const build = (host: string) => buildServerConfig({
    services: ['frontend'],
    numHistoryShards: 1,
    defaultStore: resolveSqlStore('Test', 'default', {
      plugin: 'postgres12_pgx', host, database: 'temporal', user: 'temporal', password: { secret, key: 'password' },
    }),
    visibilityStore: store('visibility'),
    frontendAddress: 'f:7233',
    frontendHttpAddress: 'f:7243',
    dynamicConfigPath: '/d.yaml',
    dynamicConfigPollSeconds: 10,
    logLevel: 'info',
    podIpEnv: 'POD_IP',
  });

  it('does join a DNS host and port into connectAddr', () => {
    expect(build('db.example.internal').persistence.datastores.default.sql.connectAddr).toBe('db.example.internal:5432');
  });

  it('does bracket an IPv6 host in connectAddr', () => {
    expect(build('fd00::5').persistence.datastores.default.sql.connectAddr).toBe('[fd00::5]:5432');
  });
});
