import { readTrustProxy } from './trust-proxy';

describe('TRUST_PROXY', () => {
  it('is off when unset or empty', () => {
    expect(readTrustProxy({})).toBeUndefined();
    expect(readTrustProxy({ TRUST_PROXY: ' ' })).toBeUndefined();
  });

  it('takes a hop count, addresses, CIDRs and the named ranges', () => {
    expect(readTrustProxy({ TRUST_PROXY: '1' })).toBe(1);
    expect(readTrustProxy({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8 , 192.168.1.5' })).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.168.1.5',
    ]);
  });

  it.each(['true', '*', '0', '11', '10.0.0.0/33', '::/129', 'proxy.example.com', '10.0.0.0/8/1', '1.2.3'])(
    'refuses %s, naming the variable',
    (value) => {
      expect(() => readTrustProxy({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
    },
  );
});
