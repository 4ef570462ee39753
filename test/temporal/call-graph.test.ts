import { serverCalls, systemClientTarget } from '../../lib/temporal/call-graph';
import { TemporalService } from '../../lib/temporal/ports';

const FOUR: TemporalService[] = ['frontend', 'history', 'matching', 'worker'];
const FIVE: TemporalService[] = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'];

/** `from>to:port` of every call of one category, for every service present. */
function pairs(present: readonly TemporalService[], category: string): string[] {
  return present.flatMap((from) => serverCalls(from, present).filter((c) => c.category === category)
    .map((c) => `${from}>${c.to}:${c.port}`));
}

describe('serverCalls', () => {
  it('does connect every server to every server (itself included) on the membership port', () => {
    const mesh = pairs(FOUR, 'membership');
    expect(mesh).toHaveLength(16);
    expect(mesh).toContain('worker>history:membership');
    expect(mesh).toContain('history>history:membership');
  });

  it('does send the system SDK clients to the frontend, or to internal-frontend when it exists', () => {
    expect(pairs(FOUR, 'system-client')).toEqual(['frontend>frontend:grpc', 'history>frontend:grpc', 'worker>frontend:grpc']);
    expect(pairs(FIVE, 'system-client')).toEqual(['frontend>internal-frontend:grpc', 'internal-frontend>internal-frontend:grpc',
      'history>internal-frontend:grpc', 'worker>internal-frontend:grpc']);
    expect(systemClientTarget(FOUR)).toBe('frontend');
    expect(systemClientTarget(FIVE)).toBe('internal-frontend');
  });

  it('does give the worker service no inbound gRPC (it serves health checks only)', () => {
    const inbound = FOUR.flatMap((from) => serverCalls(from, FOUR)).filter((c) => c.to === 'worker' && c.port === 'grpc');
    expect(inbound).toEqual([]);
  });

  it('does route the frontend and history to history and matching, as Temporal\'s clients do', () => {
    expect(pairs(FOUR, 'rpc')).toEqual([
      'frontend>history:grpc', 'frontend>matching:grpc', 'history>history:grpc', 'history>matching:grpc',
      'matching>history:grpc', 'matching>matching:grpc', 'worker>history:grpc', 'worker>matching:grpc',
    ]);
  });

  it('does leave out RPCs of absent services', () => {
    expect(pairs(['frontend', 'history'], 'rpc')).toEqual(['frontend>history:grpc', 'history>history:grpc']);
  });
});
