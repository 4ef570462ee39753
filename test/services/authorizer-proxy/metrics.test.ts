/**
 * The proxy's metrics, each registered in its own registry (what /metrics serves) under its documented name, with the
 * process metrics under the proxy's prefix.
 */
import { ProxyMetrics } from '../../../services/authorizer-proxy/observability';

describe('ProxyMetrics', () => {
  it('does serve every metric of the proxy from its own registry, with what was recorded', async () => {
    const metrics = new ProxyMetrics();
    metrics.record({ identity: 'x', auth: 'mtls', api: 'StartWorkflowExecution', decision: 'allow', reason: 'r', status: 'OK', latencyMs: 250 });
    metrics.inFlight.inc(2);
    metrics.reloadFailures.inc({ what: 'policy' });
    metrics.keySetFailures.inc();
    metrics.bufferedSource = () => 4096;
    metrics.connectionsSource = () => 3;
    const text = await metrics.registry.metrics();
    expect(text).toContain('authorizer_proxy_calls_total{api="StartWorkflowExecution",decision="allow",status="OK"} 1');
    expect(text).toContain('authorizer_proxy_call_duration_seconds_bucket{le="0.25",api="StartWorkflowExecution",decision="allow"} 1');
    expect(text).toContain('authorizer_proxy_call_duration_seconds_bucket{le="0.1",api="StartWorkflowExecution",decision="allow"} 0');
    expect(text).toContain('authorizer_proxy_call_duration_seconds_sum{api="StartWorkflowExecution",decision="allow"} 0.25');
    expect(text).toContain('authorizer_proxy_calls_in_flight 2');
    expect(text).toContain('authorizer_proxy_reload_failures_total{what="policy"} 1');
    expect(text).toContain('authorizer_proxy_identity_provider_key_fetch_failures_total 1');
    expect(text).toContain('authorizer_proxy_buffered_request_bytes 4096');
    expect(text).toContain('authorizer_proxy_connections 3');
    expect(text).toMatch(/^authorizer_proxy_process_cpu_seconds_total /m);
  });

  it('does read the buffered bytes and the connections as 0 until a source is set', async () => {
    const text = await new ProxyMetrics().registry.metrics();
    expect([text.includes('authorizer_proxy_buffered_request_bytes 0'), text.includes('authorizer_proxy_connections 0')]).toEqual([true, true]);
  });
});
