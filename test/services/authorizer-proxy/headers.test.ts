/** What the proxy forwards of a caller's headers, what it passes back of the frontend's, and how it reads a reset stream. */
import { constants } from 'node:http2';
import { closedStatus, forwardedHeaders, resetStatus, responseHeaders } from '../../../services/authorizer-proxy/calls';
import { statusName } from '../../../services/authorizer-proxy/grpc';

const PATH = '/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution';
const FRONTEND = 'temporal-frontend.temporal.svc.cluster.local';

describe('forwardedHeaders', () => {
  it('does forward the caller\'s metadata, and replace credentials, transport and priority headers with the proxy\'s own', () => {
    const incoming = {
      ':method': 'POST', ':path': '/evil', ':authority': 'attacker', ':scheme': 'http',
      authorization: 'Bearer caller-token', 'authorization-extras': 'x', te: 'gzip', 'content-type': 'application/grpc+json',
      'user-agent': 'grpc-node', host: 'attacker', 'content-length': '5', 'caller-type': 'operator', 'caller-name': 'system',
      'call-initiation': 'background', 'grpc-timeout': '1S', 'grpc-encoding': 'gzip', 'grpc-message-type': 'x', 'grpc-accept-encoding': 'gzip',
      'grpc-trace-bin': 'AAEC', 'temporal-namespace': 'orders', 'client-name': 'temporal-go', 'x-custom': ['a', 'b'],
    };
    expect(forwardedHeaders(incoming, PATH, FRONTEND, undefined, 'proxy-token', false)).toStrictEqual({
      ':method': 'POST', ':scheme': 'https', ':path': PATH, ':authority': FRONTEND, 'content-type': 'application/grpc', te: 'trailers',
      'user-agent': 'secure-temporal-authorizer-proxy', 'grpc-trace-bin': 'AAEC', 'temporal-namespace': 'orders', 'client-name': 'temporal-go',
      'x-custom': ['a', 'b'], authorization: 'Bearer proxy-token',
    });
  });

  it('does set the deadline left, pass grpc-accept-encoding only when told, and send no credential without a token', () => {
    expect(forwardedHeaders({ 'grpc-accept-encoding': 'gzip' }, PATH, FRONTEND, 1500, undefined, true)).toStrictEqual({
      ':method': 'POST', ':scheme': 'https', ':path': PATH, ':authority': FRONTEND, 'content-type': 'application/grpc', te: 'trailers',
      'user-agent': 'secure-temporal-authorizer-proxy', 'grpc-timeout': '1500m', 'grpc-accept-encoding': 'gzip',
    });
    expect(forwardedHeaders({}, PATH, FRONTEND, undefined, undefined, true)).not.toHaveProperty('grpc-accept-encoding');
    expect(forwardedHeaders({ 'x-a': undefined }, PATH, FRONTEND, undefined, undefined, false)).not.toHaveProperty('x-a');
  });
});

describe('responseHeaders', () => {
  it('does pass the frontend\'s headers back with status 200, leaving out pseudo-headers, length and date', () => {
    expect(responseHeaders({ ':status': 200 as unknown as string, 'content-type': 'application/grpc', 'content-length': '9', date: 'today', 'grpc-encoding': 'gzip',
      'x-served-by': 'frontend-1', 'x-none': undefined })).toStrictEqual({ ':status': 200, 'content-type': 'application/grpc',
      'grpc-encoding': 'gzip', 'x-served-by': 'frontend-1' });
  });
});

describe('resetStatus', () => {
  it('does map RST_STREAM codes as grpc-js and grpc-go do', () => {
    const mapped = (code: number | undefined) => {
      const [status, details] = resetStatus(code);
      return `${statusName(status)}: ${details}`;
    };
    expect(mapped(constants.NGHTTP2_REFUSED_STREAM)).toBe('UNAVAILABLE: the frontend refused the call (REFUSED_STREAM)');
    expect(mapped(constants.NGHTTP2_CANCEL)).toBe('CANCELLED: the frontend cancelled the call');
    expect(mapped(constants.NGHTTP2_ENHANCE_YOUR_CALM)).toBe('RESOURCE_EXHAUSTED: the frontend asked to slow down (ENHANCE_YOUR_CALM)');
    expect(mapped(constants.NGHTTP2_INADEQUATE_SECURITY)).toBe('PERMISSION_DENIED: the frontend found the connection\'s security inadequate');
    expect(mapped(constants.NGHTTP2_INTERNAL_ERROR)).toBe('INTERNAL: Received RST_STREAM with code 2');
    expect(mapped(undefined)).toBe('INTERNAL: Received RST_STREAM with code unknown');
  });
});

describe('closedStatus', () => {
  it('does answer a lost connection UNAVAILABLE whatever the reset, a reset as it maps, and no reset INTERNAL', () => {
    const mapped = (rstCode: number | undefined, lost: boolean) => {
      const [status, details] = closedStatus(rstCode, lost);
      return `${statusName(status)}: ${details}`;
    };
    const lost = 'UNAVAILABLE: the connection to the frontend was lost during the call';
    expect([constants.NGHTTP2_CANCEL, constants.NGHTTP2_INTERNAL_ERROR, undefined].map((code) => mapped(code, true)))
      .toEqual([lost, lost, lost]);
    expect(mapped(constants.NGHTTP2_CANCEL, false)).toBe('CANCELLED: the frontend cancelled the call');
    expect(mapped(constants.NGHTTP2_REFUSED_STREAM, false)).toBe('UNAVAILABLE: the frontend refused the call (REFUSED_STREAM)');
    expect(mapped(constants.NGHTTP2_NO_ERROR, false)).toBe('INTERNAL: the frontend ended the call without a status');
    expect(mapped(undefined, false)).toBe('INTERNAL: the frontend ended the call without a status');
  });
});
