import { ValidationError } from '../../lib/core/errors';
import { describePeer, isAnyAddress, parseCidr, Peer, validatePeer } from '../../lib/core/peers';

describe('peers', () => {
  it('does parse IPv4 and IPv6 CIDRs and refuse host bits or bad prefixes', () => {
    expect(parseCidr('10.20.0.0/24')).toEqual({ family: 4, network: 0x0a140000n, prefix: 24 });
    expect(parseCidr('fd00::/8')?.prefix).toBe(8);
    expect(parseCidr('10.20.0.5/24')).toBeUndefined();
    expect(parseCidr('10.20.0.0/33')).toBeUndefined();
    expect(parseCidr('10.20.0.0')).toBeUndefined();
    expect(parseCidr('db.example.com/32')).toBeUndefined();
  });

  it('does accept an except inside the range, in either family', () => {
    expect(() => validatePeer('P', 'peer', Peer.cidr('172.17.0.0/16', ['172.17.1.0/24']))).not.toThrow();
    expect(() => validatePeer('P', 'peer', Peer.cidr('fd00::/8', ['fd00:1::/32']))).not.toThrow();
    expect(() => validatePeer('P', 'peer', Peer.cidr('fd00::/8', ['fe00::/16']))).toThrow(ValidationError);
  });

  it('does refuse every-address ranges unless allowed', () => {
    expect(() => validatePeer('P', 'peer', Peer.cidr('::/0'))).toThrow(/admits every address/);
    expect(() => validatePeer('P', 'peer', Peer.cidr('0.0.0.0/0'), true)).not.toThrow();
    expect(isAnyAddress(Peer.cidr('0.0.0.0/0'))).toBe(true);
    expect(isAnyAddress(Peer.namespace('x'))).toBe(false);
  });

  it('does describe peers for docs', () => {
    expect(describePeer(Peer.namespace('kube-system', { 'k8s-app': 'kube-dns' }))).toBe('ns kube-system, pods k8s-app=kube-dns');
    expect(describePeer(Peer.namespaces({ team: 'a', env: 'prod' }))).toBe('ns env=prod,team=a');
    expect(describePeer(Peer.cidr('10.0.0.0/8', ['10.1.0.0/16']))).toBe('10.0.0.0/8 except 10.1.0.0/16');
  });
});
