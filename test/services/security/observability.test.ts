import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ApiKeys } from '../../../services/security/api-keys';
import { apiKeyExpiry, loggers } from '../../../services/security/observability';

/** A destination that keeps every line written to it, parsed. */
function destination(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>));
      done();
    },
  });
  return { stream, lines };
}

describe('loggers', () => {
  it('does write one JSON line per message, with the component, the level\'s name, an ISO time and msg', () => {
    const { stream, lines } = destination();
    const { log } = loggers('codec-server', 'info', stream);
    log.info({ namespace: 'orders' }, 'key ring reloaded');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', component: 'codec-server', namespace: 'orders', msg: 'key ring reloaded' });
    expect(lines[0].time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('does write to stdout without blocking by default', () => {
    const { stream, lines } = destination();
    const stdout = jest.spyOn(pino, 'destination').mockReturnValue(stream as unknown as ReturnType<typeof pino.destination>);
    try {
      const { log, audit } = loggers('codec-server');
      log.info('to stdout');
      audit.info('audit to stdout');
      expect(stdout).toHaveBeenCalledWith({ dest: 1, sync: false });
      expect(lines.map((l) => l.msg)).toEqual(['to stdout', 'audit to stdout']);
    } finally {
      stdout.mockRestore();
    }
  });

  it('does write service messages at info and above by default', () => {
    const { stream, lines } = destination();
    const { log } = loggers('authorizer-proxy', undefined, stream);
    log.debug('debug message');
    log.info('info message');
    expect(lines.map((l) => l.msg)).toEqual(['info message']);
  });

  it('does write audit lines whatever the service level says', () => {
    const { stream, lines } = destination();
    const { log, audit } = loggers('authorizer-proxy', 'error', stream);
    log.info('service message');
    log.warn('service warning');
    audit.info({ audit: { api: 'StartWorkflowExecution' } }, 'call');
    log.error('service error');
    expect(lines.map((l) => l.msg)).toEqual(['call', 'service error']);
    expect(lines[0]).toMatchObject({ level: 'info', component: 'authorizer-proxy', audit: { api: 'StartWorkflowExecution' } });
  });

  it('does keep audit lines at info even when the service writes debug', () => {
    const { stream, lines } = destination();
    const { log, audit } = loggers('authorizer-proxy', 'debug', stream);
    log.debug('service debug');
    audit.debug('audit debug');
    expect(lines.map((l) => l.msg)).toEqual(['service debug']);
  });
});

describe('apiKeyExpiry', () => {
  const keys = new ApiKeys({ keys: [
    { id: 'ci-deploy', owner: 'team-ci', sha256: 'a'.repeat(64), expires: '2030-01-11T00:00:00Z' },
    { id: 'old-bot', owner: 'ops', sha256: 'b'.repeat(64), expires: '2029-12-30T12:00:00Z' },
    { id: 'revoked', owner: 'ops', sha256: 'c'.repeat(64), expires: '2030-06-01T00:00:00Z', disabled: true },
    { id: 'kept', owner: 'ops', sha256: 'd'.repeat(64), expires: '2030-01-01T06:00:00Z', disabled: false },
  ] });
  const JAN_1_2030 = Date.parse('2030-01-01T00:00:00Z');

  const samples = async (registry: Registry) => (await registry.getMetricsAsJSON())
    .find((m) => m.name === 'temporal_proxy_api_key_expiry_days')?.values.map((v) => ({ labels: v.labels, value: v.value }));

  it('does report the days left on each key that is not disabled, negative once expired', async () => {
    const registry = new Registry();
    apiKeyExpiry(registry, 'temporal_proxy', () => keys, () => JAN_1_2030);
    expect(await samples(registry)).toEqual([
      { labels: { key_id: 'ci-deploy', owner: 'team-ci' }, value: 10 },
      { labels: { key_id: 'old-bot', owner: 'ops' }, value: -1.5 },
      { labels: { key_id: 'kept', owner: 'ops' }, value: 0.25 },
    ]);
    expect(await registry.metrics()).toContain('# HELP temporal_proxy_api_key_expiry_days Days until each API key expires (negative once it has); ' +
      'disabled keys are not listed\n# TYPE temporal_proxy_api_key_expiry_days gauge');
  });

  it('does read the keys and the clock at each scrape, dropping keys no longer in the file', async () => {
    const registry = new Registry();
    let current: ApiKeys | undefined = keys;
    let now = JAN_1_2030;
    apiKeyExpiry(registry, 'temporal_proxy', () => current, () => now);
    await samples(registry);
    current = new ApiKeys({ keys: [{ id: 'ci-deploy', owner: 'team-ci', sha256: 'a'.repeat(64), expires: '2030-01-11T00:00:00Z' }] });
    now = Date.parse('2030-01-06T00:00:00Z');
    expect(await samples(registry)).toEqual([{ labels: { key_id: 'ci-deploy', owner: 'team-ci' }, value: 5 }]);
    current = undefined;
    expect(await samples(registry)).toEqual([]);
  });

  it('does name the gauge by the prefix', async () => {
    const registry = new Registry();
    const gauge = apiKeyExpiry(registry, 'codec_server', () => keys, () => JAN_1_2030);
    expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toEqual(['codec_server_api_key_expiry_days']);
    expect((await gauge.get()).values).toHaveLength(3);
  });
});
