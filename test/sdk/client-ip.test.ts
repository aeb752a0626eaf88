import { describe, expect, it } from 'vitest';
import { MAX_FORWARDED_HOPS, MAX_HEADER_LENGTH } from '../../src/sdk/input-limits.js';
import {
  formatIp,
  isTrustedAddress,
  normalizeAddress,
  parseIp,
  parseTrustedProxies,
  resolveClientAddress,
} from '../../src/sdk/client-ip.js';

describe('parseIp / normalizeAddress', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['::1', '::1'],
    ['::', '::'],
    ['[::1]', '::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1::', '1::'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['0:0:0:0:0:ffff:10.1.2.3', '10.1.2.3'],
    ['[::ffff:127.0.0.1]', '127.0.0.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['::1.2.3.4', '::102:304'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeAddress(input)).toBe(expected);
  });

  it.each([
    '',
    'localhost',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    '1.2.3.4:80',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':::',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    '12345::',
    'g::1',
    '::ffff:300.1.1.1',
    '::1.2.3',
    'fe80::1%',
    '[::1',
    '::1]',
    'unknown',
    '1:2:3:4:5:6:7:8:1.2.3.4',
    '::' + '1:'.repeat(100) + '1',
  ])('rejects %j', (input) => {
    expect(parseIp(input)).toBeUndefined();
    expect(normalizeAddress(input)).toBeUndefined();
  });

  it('parses values exactly', () => {
    expect(parseIp('10.1.2.3')).toEqual({ version: 4, value: 0x0a010203n });
    expect(parseIp('::ffff:10.1.2.3')).toEqual({ version: 4, value: 0x0a010203n });
    expect(parseIp('::2')).toEqual({ version: 6, value: 2n });
    expect(parseIp('8000::')).toEqual({ version: 6, value: 1n << 127n });
    expect(formatIp({ version: 6, value: (1n << 128n) - 1n })).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  it('compresses the first of equally long zero runs, never a single zero group', () => {
    expect(normalizeAddress('1:0:0:2:0:0:3:4')).toBe('1::2:0:0:3:4');
    expect(normalizeAddress('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7');
  });

  it('returns undefined for non-strings and undefined', () => {
    expect(normalizeAddress(undefined)).toBeUndefined();
    expect(parseIp(42 as unknown as string)).toBeUndefined();
  });
});

describe('parseTrustedProxies', () => {
  it('parses addresses, CIDRs and keywords from a comma list', () => {
    const t = parseTrustedProxies('10.0.0.0/8, 192.0.2.1 ,fd00::/8,loopback');
    expect(t.all).toBe(false);
    expect(t.invalid).toEqual([]);
    expect(t.ranges).toEqual([
      { version: 4, network: 0x0a000000n, prefix: 8 },
      { version: 4, network: 0xc0000201n, prefix: 32 },
      { version: 6, network: 0xfdn << 120n, prefix: 8 },
      { version: 4, network: 0x7f000000n, prefix: 8 },
      { version: 6, network: 1n, prefix: 128 },
    ]);
  });

  it('accepts arrays of lists and ignores empty entries', () => {
    const t = parseTrustedProxies(['10.0.0.1', '10.0.0.2, 10.0.0.3', '', ' , ']);
    expect(t.ranges).toHaveLength(3);
    expect(t.invalid).toEqual([]);
  });

  it('reports invalid entries and keeps the valid ones', () => {
    const t = parseTrustedProxies('10.0.0.0/33,bogus,1.2.3.4,::1/129,10.0.0.0/x,10.0.0.0/-1,/8,1.2.3.4/,nope::');
    expect(t.invalid).toEqual(['10.0.0.0/33', 'bogus', '::1/129', '10.0.0.0/x', '10.0.0.0/-1', '/8', '1.2.3.4/', 'nope::']);
    expect(t.ranges).toEqual([{ version: 4, network: 0x01020304n, prefix: 32 }]);
  });

  it('masks host bits of a CIDR', () => {
    expect(parseTrustedProxies('10.1.2.3/8').ranges).toEqual([{ version: 4, network: 0x0a000000n, prefix: 8 }]);
  });

  it('understands * and all (case-insensitive keywords)', () => {
    expect(parseTrustedProxies('*').all).toBe(true);
    expect(parseTrustedProxies('ALL').all).toBe(true);
    expect(parseTrustedProxies('Private').ranges).toHaveLength(4);
    expect(parseTrustedProxies('uniquelocal').ranges).toEqual(parseTrustedProxies('private').ranges);
    expect(parseTrustedProxies(undefined)).toEqual({ all: false, ranges: [], invalid: [] });
    expect(parseTrustedProxies('')).toEqual({ all: false, ranges: [], invalid: [] });
  });

  it('treats IPv4-mapped CIDRs as IPv4 ranges', () => {
    expect(parseTrustedProxies('::ffff:10.0.0.0/104').ranges).toEqual([{ version: 4, network: 0x0a000000n, prefix: 8 }]);
    expect(parseTrustedProxies('::ffff:10.1.2.3').ranges).toEqual([{ version: 4, network: 0x0a010203n, prefix: 32 }]);
  });

  it('does not consult Object.prototype for keywords', () => {
    expect(parseTrustedProxies('constructor,__proto__,toString').invalid).toEqual(['constructor', '__proto__', 'toString']);
  });

  it('reports non-string list items as invalid', () => {
    expect(parseTrustedProxies([42, '10.0.0.1'] as unknown as string[]).invalid).toEqual(['42']);
  });
});

describe('isTrustedAddress', () => {
  const cases: [string, string, boolean][] = [
    ['loopback', '127.0.0.1', true],
    ['loopback', '127.255.255.254', true],
    ['loopback', '::1', true],
    ['loopback', '::ffff:127.0.0.1', true],
    ['loopback', '128.0.0.1', false],
    ['loopback', '::2', false],
    ['private', '10.255.0.1', true],
    ['private', '172.16.0.1', true],
    ['private', '172.31.255.255', true],
    ['private', '172.32.0.1', false],
    ['private', '172.15.255.255', false],
    ['private', '192.168.1.1', true],
    ['private', '192.169.1.1', false],
    ['private', 'fc00::1', true],
    ['private', 'fdff:ffff::1', true],
    ['private', 'fe00::1', false],
    ['private', '::ffff:10.1.2.3', true],
    ['linklocal', '169.254.10.10', true],
    ['linklocal', 'fe80::1%eth0', true],
    ['linklocal', 'febf::1', true],
    ['linklocal', 'fec0::1', false],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/8', 'fc12::1', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '::1', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '8.8.8.8', true], // as ::ffff:8.8.8.8
    ['::ffff:0:0/96', '1.2.3.4', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.1', '10.0.0.2', false],
    ['10.0.0.1', 'garbage', false],
  ];
  it.each(cases)('%s trusts %s: %s', (spec, address, expected) => {
    expect(isTrustedAddress(address, parseTrustedProxies(spec))).toBe(expected);
  });

  it('trusts everything, even unknown peers, with *', () => {
    expect(isTrustedAddress(undefined, parseTrustedProxies('*'))).toBe(true);
    expect(isTrustedAddress(undefined, parseTrustedProxies('loopback'))).toBe(false);
  });
});

describe('resolveClientAddress', () => {
  const none = parseTrustedProxies(undefined);
  const lb = parseTrustedProxies('loopback');
  const priv = parseTrustedProxies('loopback,private');
  const all = parseTrustedProxies('*');

  it('uses the peer and never reads X-Forwarded-For without trusted proxies', () => {
    expect(resolveClientAddress('203.0.113.9', '1.1.1.1', none)).toBe('203.0.113.9');
    expect(resolveClientAddress('::ffff:203.0.113.9', '1.1.1.1', none)).toBe('203.0.113.9');
    expect(resolveClientAddress('127.0.0.1', '1.1.1.1', none)).toBe('127.0.0.1');
  });

  it('uses the peer when it is not trusted', () => {
    expect(resolveClientAddress('203.0.113.9', '1.1.1.1', lb)).toBe('203.0.113.9');
    expect(resolveClientAddress('2001:DB8::9', '1.1.1.1', lb)).toBe('2001:db8::9');
  });

  it('returns undefined for a missing or unparseable untrusted peer', () => {
    expect(resolveClientAddress(undefined, '1.1.1.1', lb)).toBeUndefined();
    expect(resolveClientAddress('not-an-ip', '1.1.1.1', lb)).toBeUndefined();
    expect(resolveClientAddress(undefined, undefined, none)).toBeUndefined();
  });

  it('walks X-Forwarded-For right to left past trusted hops', () => {
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7', lb)).toBe('198.51.100.7');
    expect(resolveClientAddress('10.0.0.2', '198.51.100.7, 10.0.0.1', priv)).toBe('198.51.100.7');
    // The right-most untrusted hop wins; a spoofed left part is ignored.
    expect(resolveClientAddress('10.0.0.2', '6.6.6.6, 198.51.100.7, 10.0.0.1', priv)).toBe('198.51.100.7');
  });

  it('returns the left-most hop when every hop is trusted', () => {
    expect(resolveClientAddress('10.0.0.3', '10.0.0.1, 10.0.0.2', priv)).toBe('10.0.0.1');
  });

  it('returns the peer when there is no X-Forwarded-For', () => {
    expect(resolveClientAddress('127.0.0.1', undefined, lb)).toBe('127.0.0.1');
    expect(resolveClientAddress('127.0.0.1', '', lb)).toBe('127.0.0.1');
    expect(resolveClientAddress('127.0.0.1', [], lb)).toBe('127.0.0.1');
    expect(resolveClientAddress('127.0.0.1', ' , ,', lb)).toBe('127.0.0.1');
  });

  it('joins several header values in order', () => {
    expect(resolveClientAddress('127.0.0.1', ['6.6.6.6, 198.51.100.7', '10.0.0.1'], priv)).toBe('198.51.100.7');
    expect(resolveClientAddress('127.0.0.1', ['198.51.100.7', '203.0.113.1'], priv)).toBe('203.0.113.1');
  });

  it('strips ports and brackets', () => {
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7:5678', lb)).toBe('198.51.100.7');
    expect(resolveClientAddress('127.0.0.1', '[2001:db8::7]:443', lb)).toBe('2001:db8::7');
    expect(resolveClientAddress('127.0.0.1', '[2001:db8::7]', lb)).toBe('2001:db8::7');
    expect(resolveClientAddress('127.0.0.1', '2001:db8::7', lb)).toBe('2001:db8::7');
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7, [::1]:80', lb)).toBe('198.51.100.7');
  });

  it('normalises mapped and odd IPv6 forms from the header', () => {
    expect(resolveClientAddress('::ffff:127.0.0.1', '::ffff:198.51.100.7', lb)).toBe('198.51.100.7');
    expect(resolveClientAddress('::1', '2001:0DB8:0:0::0001', lb)).toBe('2001:db8::1');
    expect(resolveClientAddress('::1', 'fe80::1%25eth0', lb)).toBe('fe80::1');
  });

  it('stops at an invalid entry and uses the last address walked', () => {
    // Invalid right next to the peer: the peer.
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7, garbage', lb)).toBe('127.0.0.1');
    // Invalid behind a trusted hop: that hop.
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7, unknown, 10.0.0.1', priv)).toBe('10.0.0.1');
    // An untrusted hop before the invalid entry is found first.
    expect(resolveClientAddress('127.0.0.1', 'garbage, 198.51.100.7, 10.0.0.1', priv)).toBe('198.51.100.7');
    expect(resolveClientAddress('127.0.0.1', '1.2.3.4:99999', lb)).toBe('127.0.0.1');
  });

  it('trusts every hop with *', () => {
    expect(resolveClientAddress('203.0.113.9', '198.51.100.7, 10.0.0.1', all)).toBe('198.51.100.7');
    expect(resolveClientAddress(undefined, '198.51.100.7', all)).toBe('198.51.100.7');
    expect(resolveClientAddress(undefined, undefined, all)).toBeUndefined();
  });

  it('walks at most MAX_FORWARDED_HOPS entries of a huge header', () => {
    // 150,000 trusted hops: the walk stops at the 32nd entry from the right.
    const hops = Array.from({ length: 150_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const header = `198.51.100.7, ${hops.join(', ')}`;
    expect(resolveClientAddress('127.0.0.1', header, priv)).toBe(hops[hops.length - MAX_FORWARDED_HOPS]);
    expect(resolveClientAddress('127.0.0.1', header, all)).toBe(hops[hops.length - MAX_FORWARDED_HOPS]);
    // Repeated headers count as one list.
    expect(resolveClientAddress('127.0.0.1', [...hops.slice(0, 100), '10.0.0.1'], all)).toBe(hops[100 - MAX_FORWARDED_HOPS + 1]);
    // Within the bound the walk is as before.
    const short = hops.slice(0, MAX_FORWARDED_HOPS - 1);
    expect(resolveClientAddress('127.0.0.1', `198.51.100.7, ${short.join(', ')}`, priv)).toBe('198.51.100.7');
  });

  it('reads only the last MAX_HEADER_LENGTH characters of the header', () => {
    expect(resolveClientAddress('127.0.0.1', 'x'.repeat(1_000_000), lb)).toBe('127.0.0.1');
    // The client entry lies beyond the length bound: the walk ends at the last whole entry inside it.
    const filler = Array.from({ length: 25 }, () => '127.0.0.2' + ' '.repeat(400)).join(',');
    expect(filler.length).toBeGreaterThan(MAX_HEADER_LENGTH);
    expect(resolveClientAddress('127.0.0.1', `198.51.100.7,${filler}`, lb)).toBe('127.0.0.2');
    expect(resolveClientAddress('127.0.0.1', `198.51.100.7,${filler.slice(0, 4000)}`, lb)).toBe('198.51.100.7');
    const padded = '198.51.100.7' + ' '.repeat(MAX_HEADER_LENGTH);
    expect(resolveClientAddress('127.0.0.1', padded, lb)).toBe('127.0.0.1');
  });

  it('ignores non-string header values', () => {
    expect(resolveClientAddress('127.0.0.1', [42, '198.51.100.7'] as unknown as string[], lb)).toBe('198.51.100.7');
  });
});
