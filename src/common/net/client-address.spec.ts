import {
  addressLimitKey,
  forwardedFor,
  IpRanges,
  normaliseAddress,
  parseCidr,
  resolveClientAddress,
  xForwardedFor,
} from './client-address';

const ranges = (...list: string[]) => IpRanges.parse(list).ranges;
const none = { forwarded: [], xForwardedFor: [] };

describe('normaliseAddress', () => {
  it.each([
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:102:304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:10.0.0.1', '10.0.0.1'],
    ['[2001:DB8:0::1]', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['192.0.2.1', '192.0.2.1'],
  ])('%s → %s', (input, expected) => expect(normaliseAddress(input)).toBe(expected));

  it.each([undefined, '', 'localhost', '01.2.3.4', '1.2.3', '1.2.3.4:80', 'unknown'])('refuses %s', (input) =>
    expect(normaliseAddress(input)).toBeUndefined(),
  );
});

describe('parseCidr and IpRanges', () => {
  it('accepts IPv4 and IPv6 ranges and bare hosts', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr(' 2001:db8::/32 ')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    expect(parseCidr('192.0.2.7')).toEqual({ address: '192.0.2.7', prefix: 32, family: 'ipv4' });
  });

  it.each([
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0/8',
    'example.com/24',
    '',
    'fe80::1%eth0/64',
    '10.0.0.0/-1',
    '10.0.0.0/0x8',
  ])('refuses %j', (text) => expect(parseCidr(text)).toBeUndefined());

  it('reports the bad entries of a list', () => {
    expect(IpRanges.parseList('10.0.0.0/8, nonsense ,,::1').invalid).toEqual([' nonsense ']);
    expect(IpRanges.parseList('').ranges.empty).toBe(true);
    expect(IpRanges.parseList(undefined).invalid).toEqual([]);
  });

  it('matches IPv4, IPv4-mapped IPv6 and IPv6 addresses', () => {
    const list = ranges('10.0.0.0/8', '2001:db8::/32');
    expect(list.contains('10.200.0.1')).toBe(true);
    expect(list.contains('::ffff:10.200.0.1')).toBe(true);
    expect(list.contains('[2001:db8::5]')).toBe(true);
    expect(list.contains('11.0.0.1')).toBe(false);
    expect(list.contains('2001:db9::1')).toBe(false);
    expect(list.contains(undefined)).toBe(false);
    expect(list.contains('garbage')).toBe(false);
    expect(ranges().contains('10.0.0.1')).toBe(false);
  });
});

describe('forwardedFor (RFC 7239)', () => {
  it('reads for= of each element, quoted, bracketed IPv6 with ports, any case', () => {
    expect(
      forwardedFor([
        'for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"',
        'for="198.51.100.17:8080", host=example.com;for=192.0.2.43',
      ]),
    ).toEqual(['192.0.2.60', '2001:db8:cafe::17', '198.51.100.17', '192.0.2.43']);
  });

  it('marks unknown, obfuscated, missing and garbage nodes', () => {
    expect(
      forwardedFor([
        'for=unknown, for=_hidden, for="_SEVKISEK", proto=https, for="[::1", for=[2001:db8::1], for=1.2.3.4;for=5.6.7.8, for=""',
      ]),
    ).toEqual([undefined, undefined, undefined, undefined, undefined, '2001:db8::1', undefined, undefined]);
  });

  it('an unbalanced quote from the client spoils only its own element', () => {
    expect(forwardedFor(['for="1.2.3.4, for=198.51.100.9'])).toEqual([undefined, '198.51.100.9']);
  });

  it('accepts an obfuscated port and a mapped address', () => {
    expect(forwardedFor(['for="[::ffff:192.0.2.1]:_port"', 'for="192.0.2.2:_abc"'])).toEqual([
      '192.0.2.1',
      '192.0.2.2',
    ]);
  });
});

describe('xForwardedFor', () => {
  it('reads several headers and entries, IPv6 bare or bracketed, with ports', () => {
    expect(xForwardedFor(['203.0.113.7, 2001:db8::1', '[2001:db8::2]:443 ,10.0.0.1:80, ,junk, 999.1.1.1'])).toEqual([
      '203.0.113.7',
      '2001:db8::1',
      '2001:db8::2',
      '10.0.0.1',
      undefined,
      undefined,
    ]);
  });

  it('never takes an address with an IPv6 zone from a forwarding header (it names the sender’s own interface)', () => {
    expect(xForwardedFor(['2001:db8:aa::1%eth0, fe80::1%25x'])).toEqual([undefined, undefined]);
    expect(forwardedFor(['for="[2001:db8:aa::1%eth0]:80"'])).toEqual([undefined]);
  });
});

describe('resolveClientAddress', () => {
  const proxies = ranges('10.0.0.0/8', 'fd00::/8');

  it('uses the socket address when there are no forwarding headers', () => {
    expect(resolveClientAddress('::ffff:203.0.113.9', none, proxies)).toEqual({ address: '203.0.113.9' });
  });

  it('ignores (and reports) forwarding headers from a peer that is not a trusted proxy', () => {
    expect(resolveClientAddress('203.0.113.9', { forwarded: [], xForwardedFor: ['1.1.1.1'] }, proxies)).toEqual({
      address: '203.0.113.9',
      ignoredForwarding: 'x-forwarded-for',
    });
    expect(resolveClientAddress('10.0.0.5', { forwarded: ['for=1.1.1.1'], xForwardedFor: [] }, ranges())).toEqual({
      address: '10.0.0.5',
      ignoredForwarding: 'forwarded',
    });
  });

  it('takes the right-most hop that is not a trusted proxy, never what the client wrote left of it', () => {
    const headers = { forwarded: [], xForwardedFor: ['6.6.6.6, 198.51.100.4, 10.1.1.1'] };
    expect(resolveClientAddress('::ffff:10.0.0.2', headers, proxies)).toEqual({ address: '198.51.100.4' });
  });

  it('reads only the header the proxies maintain (FORWARDED_HEADER), never the one a client could pass through', () => {
    const headers = { forwarded: ['for="[2001:db8::9]:1234", for=10.2.2.2'], xForwardedFor: ['7.7.7.7'] };
    expect(resolveClientAddress('10.0.0.2', headers, proxies)).toEqual({ address: '7.7.7.7' });
    expect(resolveClientAddress('10.0.0.2', headers, proxies, 'x-forwarded-for')).toEqual({ address: '7.7.7.7' });
    expect(resolveClientAddress('10.0.0.2', headers, proxies, 'forwarded')).toEqual({ address: '2001:db8::9' });
    // The configured header absent: the peer itself is the client, whatever the other header says.
    expect(resolveClientAddress('10.0.0.2', { forwarded: ['for=1.1.1.1'], xForwardedFor: [] }, proxies)).toEqual({
      address: '10.0.0.2',
    });
  });

  it('reports both headers when an untrusted peer sent both', () => {
    const headers = { forwarded: ['for=1.1.1.1'], xForwardedFor: ['2.2.2.2'] };
    expect(resolveClientAddress('203.0.113.9', headers, proxies)).toEqual({
      address: '203.0.113.9',
      ignoredForwarding: 'forwarded, x-forwarded-for',
    });
  });

  it('lets the nearest trusted proxy stand for a client it reports as unknown or obfuscated', () => {
    expect(
      resolveClientAddress(
        '10.0.0.2',
        { forwarded: ['for=1.1.1.1, for=unknown, for=10.3.3.3'], xForwardedFor: [] },
        proxies,
        'forwarded',
      ),
    ).toEqual({ address: '10.3.3.3' });
    expect(resolveClientAddress('10.0.0.2', { forwarded: [], xForwardedFor: ['1.1.1.1, garbage'] }, proxies)).toEqual({
      address: '10.0.0.2',
    });
  });

  it('takes the left-most hop when every hop is a trusted proxy', () => {
    const headers = { forwarded: [], xForwardedFor: ['fd00::1, 10.9.9.9'] };
    expect(resolveClientAddress('10.0.0.2', headers, proxies)).toEqual({ address: 'fd00::1' });
  });
});

describe('addressLimitKey', () => {
  it('counts an IPv6 /64 as one client and IPv4 per address', () => {
    expect(addressLimitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(addressLimitKey('192.0.2.1')).toBe('192.0.2.1');
  });
});
