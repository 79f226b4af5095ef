import type { LookupAddress, LookupOptions } from 'node:dns';
import type { Agent } from 'undici';
import { OutboundHttpClient } from './outbound-http.client';
import { ForbiddenAddressError, ForbiddenUrlError } from './outbound.errors';
import { assertUrlAllowed, createGuardedAgent, createGuardedLookup, HostResolver, isForbiddenAddress } from './ssrf';
import { LocalServer, startLocalServer } from './testing/local-server';

describe('isForbiddenAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'IPv6 loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', '"this" network'],
    ['::', 'IPv6 unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'unique local'],
    ['fd12:3456:789a::1', 'unique local'],
    ['fd00:ec2::254', 'AWS IPv6 metadata'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'IPv6 link-local'],
    ['fe80::1%eth0', 'IPv6 link-local with zone'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['64:ff9b::127.0.0.1', 'NAT64 of loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of metadata'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['[::1]', 'bracketed'],
    ['localhost', 'not an address'],
    ['', 'empty'],
  ])('forbids %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    ['8.8.8.8', 'public DNS'],
    ['1.1.1.1', 'public DNS'],
    ['93.184.215.14', 'public'],
    ['172.15.255.255', 'just below 172.16/12'],
    ['172.32.0.1', 'just above 172.16/12'],
    ['100.63.255.255', 'just below CGNAT'],
    ['100.128.0.1', 'just above CGNAT'],
    ['169.253.255.255', 'just below link-local'],
    ['223.255.255.255', 'just below multicast'],
    ['2001:4860:4860::8888', 'public IPv6 DNS'],
    ['2606:4700:4700::1111', 'public IPv6 DNS'],
    ['::ffff:8.8.8.8', 'IPv4-mapped public'],
    ['64:ff9b::808:808', 'NAT64 of public'],
    ['2002:808:808::1', '6to4 of public'],
    ['fbff::1', 'just below fc00::/7'],
  ])('allows %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('assertUrlAllowed', () => {
  it('accepts public https URLs', () => {
    expect(assertUrlAllowed('https://example.com/hook', false).hostname).toBe('example.com');
    expect(assertUrlAllowed(new URL('https://8.8.8.8/'), false).hostname).toBe('8.8.8.8');
  });

  it('requires https unless the private network is allowed too', () => {
    expect(() => assertUrlAllowed('http://example.com/hook', false)).toThrow(ForbiddenUrlError);
    expect(assertUrlAllowed('http://localhost:3000/hook', true).port).toBe('3000');
    expect(() => assertUrlAllowed('ftp://example.com/', true)).toThrow(ForbiddenUrlError);
    expect(() => assertUrlAllowed('file:///etc/passwd', true)).toThrow(ForbiddenUrlError);
  });

  it.each([
    'https://127.0.0.1/',
    'https://[::1]/',
    'https://169.254.169.254/latest/meta-data/',
    'https://[::ffff:a9fe:a9fe]/',
    'https://[fd00:ec2::254]/',
    'https://2130706433/', // 127.0.0.1 written as one number; the URL parser normalises it
    'https://0x7f.1/',
  ])('refuses the IP literal in %s unless the private network is allowed', (url) => {
    expect(() => assertUrlAllowed(url, false)).toThrow(ForbiddenAddressError);
    expect(() => assertUrlAllowed(url, true)).not.toThrow();
  });
});

/** Calls a lookup function the way net.connect does and settles with what it answers. */
function callLookup(lookup: ReturnType<typeof createGuardedLookup>, hostname: string, options: LookupOptions = {}) {
  return new Promise<{ address: string | LookupAddress[]; family?: number }>((resolve, reject) =>
    lookup(hostname, options, (error, address, family) => (error ? reject(error) : resolve({ address, family }))),
  );
}

describe('createGuardedLookup', () => {
  it('checks every connection’s own DNS answer, so a rebinding to 127.0.0.1 is refused', async () => {
    const answers: LookupAddress[][] = [
      [{ address: '93.184.215.14', family: 4 }],
      [{ address: '127.0.0.1', family: 4 }],
    ];
    const resolver: HostResolver = () => Promise.resolve(answers.shift() ?? []);
    const lookup = createGuardedLookup(false, resolver);

    await expect(callLookup(lookup, 'rebind.example')).resolves.toEqual({ address: '93.184.215.14', family: 4 });
    const error = await callLookup(lookup, 'rebind.example').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenAddressError);
    expect(error).toMatchObject({ host: 'rebind.example', address: '127.0.0.1' });
  });

  it('refuses when any of the addresses is forbidden, and answers lists for all: true', async () => {
    const mixed: HostResolver = () =>
      Promise.resolve([
        { address: '2001:4860:4860::8888', family: 6 },
        { address: '10.1.2.3', family: 4 },
      ]);
    await expect(callLookup(createGuardedLookup(false, mixed), 'mixed.example', { all: true })).rejects.toMatchObject({
      address: '10.1.2.3',
    });
    await expect(callLookup(createGuardedLookup(true, mixed), 'mixed.example', { all: true })).resolves.toEqual({
      address: [
        { address: '2001:4860:4860::8888', family: 6 },
        { address: '10.1.2.3', family: 4 },
      ],
      family: undefined,
    });
  });

  it('passes resolver failures and empty answers on as errors', async () => {
    const failing: HostResolver = () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }));
    await expect(callLookup(createGuardedLookup(false, failing), 'gone.example')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    await expect(
      callLookup(
        createGuardedLookup(false, () => Promise.resolve([])),
        'empty.example',
      ),
    ).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('createGuardedAgent (real HTTP server on 127.0.0.1)', () => {
  let server: LocalServer;
  let client: OutboundHttpClient;
  const agents: Agent[] = [];
  const agent = (options: Parameters<typeof createGuardedAgent>[0]) => {
    const created = createGuardedAgent(options);
    agents.push(created);
    return created;
  };

  beforeAll(async () => {
    server = await startLocalServer();
    client = new OutboundHttpClient();
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await client.onModuleDestroy();
    await server.close();
  });

  it('refuses localhost and 127.0.0.1 without reaching the server, and does not retry or trip the breaker', async () => {
    const guarded = agent({ allowPrivateNetwork: false });
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      for (let i = 0; i < 6; i++) {
        await expect(
          client.request({ method: 'GET', url: `http://${host}:${server.port}/`, dispatcher: guarded, retries: 2 }),
        ).rejects.toBeInstanceOf(ForbiddenAddressError);
      }
    }
    expect(server.requests).toHaveLength(0);
  });

  it('reaches them with allowPrivateNetwork', async () => {
    const open = agent({ allowPrivateNetwork: true });
    for (const host of ['localhost', '127.0.0.1']) {
      expect(
        (await client.request({ method: 'GET', url: `http://${host}:${server.port}/`, dispatcher: open })).status,
      ).toBe(200);
    }
    expect(server.requests).toHaveLength(2);
    server.requests.length = 0;
  });

  it('uses the guarded lookup for host names at connect time', async () => {
    const resolve: HostResolver = () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    const url = `http://receiver.example:${server.port}/hook`;
    await expect(
      client.request({ method: 'GET', url, dispatcher: agent({ allowPrivateNetwork: false, resolve }) }),
    ).rejects.toMatchObject({ host: 'receiver.example', address: '127.0.0.1' });
    expect(server.requests).toHaveLength(0);

    await client.request({ method: 'GET', url, dispatcher: agent({ allowPrivateNetwork: true, resolve }) });
    expect(server.requests.map((r) => r.headers.host)).toEqual([`receiver.example:${server.port}`]);
  });
});
