import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, isIPv4, isIPv6, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { type Refusal, refusals } from '../common/http/http-error.filter';
import { ForbiddenAddressError, ForbiddenUrlError } from './outbound.errors';

/** Publishes a block for the audit trail (host and address only: a URL's path or query may carry a secret). */
function blocked<E extends ForbiddenAddressError | ForbiddenUrlError>(error: E): E {
  if (refusals.hasSubscribers) {
    refusals.publish({
      event: 'malicious_ssrf',
      reason: error instanceof ForbiddenAddressError ? 'forbidden-address' : 'forbidden-url',
      detail: error.message,
    } satisfies Refusal);
  }
  return error;
}

const forbiddenV4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this" network, unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, incl. cloud metadata 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast 255.255.255.255
] as const) {
  forbiddenV4.addSubnet(network, prefix, 'ipv4');
}

const forbiddenV6 = new BlockList();
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, incl. AWS metadata fd00:ec2::254
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
] as const) {
  forbiddenV6.addSubnet(network, prefix, 'ipv6');
}

/**
 * True when outbound calls must not reach `ip`: loopback, unspecified, private, link-local (cloud metadata),
 * CGNAT, multicast and reserved ranges, and IPv6 forms that embed a forbidden IPv4 address (IPv4-mapped
 * `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`). Anything that is
 * not an IP address is forbidden too, so a parsing surprise fails closed.
 */
export function isForbiddenAddress(ip: string): boolean {
  const address = ip.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (isIPv4(address)) return forbiddenV4.check(address, 'ipv4');
  if (!isIPv6(address)) return true;
  const embedded = embeddedIPv4(expandIPv6(address));
  if (embedded !== undefined) return forbiddenV4.check(embedded, 'ipv4');
  return forbiddenV6.check(address, 'ipv6');
}

/** The eight 16-bit groups of a valid IPv6 address (which may end in a dotted IPv4 part). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const first = parse(head);
  if (tail === undefined) return first;
  const last = parse(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}

/** The IPv4 address carried by mapped, compatible, NAT64 and 6to4 IPv6 addresses, if any. */
function embeddedIPv4(groups: number[]): string | undefined {
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return v4(groups[6], groups[7]); // ::ffff:a.b.c.d
  // ::a.b.c.d, but not :: and ::1, which the IPv6 list handles as unspecified and loopback.
  if (zeros(0, 6) && groups[6] !== 0) return v4(groups[6], groups[7]);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return v4(groups[6], groups[7]); // 64:ff9b::/96
  if (groups[0] === 0x2002) return v4(groups[1], groups[2]); // 6to4 2002:aabb:ccdd::/48
  return undefined;
}

/** Resolves a host name to all of its addresses; injectable so tests can simulate DNS answers. */
export type HostResolver = (hostname: string, family: number) => Promise<readonly LookupAddress[]>;

const systemResolver: HostResolver = (hostname, family) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, family }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

/**
 * A `lookup` for `net.connect` that refuses the connection when ANY address the host resolves to is
 * forbidden. It runs at connect time, on the very answer the socket then connects to, so a DNS record that
 * changes between an earlier check and the connection (rebinding) cannot slip through.
 */
export function createGuardedLookup(allowPrivateNetwork: boolean, resolve: HostResolver = systemResolver) {
  const lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname, options.family === 'IPv6' ? 6 : options.family === 'IPv4' ? 4 : (options.family ?? 0)).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no addresses`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        const forbidden = allowPrivateNetwork ? undefined : addresses.find((a) => isForbiddenAddress(a.address));
        if (forbidden) {
          callback(blocked(new ForbiddenAddressError(hostname, forbidden.address)), '', 0);
        } else if (options.all) {
          callback(null, [...addresses]);
        } else {
          callback(null, addresses[0].address, addresses[0].family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
  return lookup;
}

/**
 * Checks what can be checked before connecting: the scheme must be `https:` — `http:` is accepted only
 * together with `allowPrivateNetwork`, for receivers on the local network during development — and a host
 * that is an IP literal must be public (undici does not call `lookup` for IP literals).
 */
export function assertUrlAllowed(url: string | URL, allowPrivateNetwork: boolean): URL {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  const allowedSchemes = allowPrivateNetwork ? ['https:', 'http:'] : ['https:'];
  if (!allowedSchemes.includes(parsed.protocol)) {
    throw blocked(new ForbiddenUrlError(parsed.hostname, `scheme ${parsed.protocol} is not allowed, use https:`));
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!allowPrivateNetwork && isIP(host) && isForbiddenAddress(host))
    throw blocked(new ForbiddenAddressError(host, host));
  return parsed;
}

export interface GuardedAgentOptions {
  /** Lets calls reach loopback and private addresses — only for local development receivers. */
  readonly allowPrivateNetwork: boolean;
  readonly connectionsPerOrigin?: number;
  readonly keepAliveTimeoutMs?: number;
  /** Replaces DNS resolution (tests). */
  readonly resolve?: HostResolver;
}

/**
 * An undici Agent for calls to URLs that outsiders choose (callbacks, webhooks): every connection's
 * addresses are checked at connect time, IP literals included. Pass it as `dispatcher` to
 * `OutboundHttpClient.request` together with {@link assertUrlAllowed}; its owner closes it.
 */
export function createGuardedAgent(options: GuardedAgentOptions): Agent {
  const { allowPrivateNetwork } = options;
  const connector = buildConnector({ lookup: createGuardedLookup(allowPrivateNetwork, options.resolve) });
  return new Agent({
    connections: options.connectionsPerOrigin ?? 16,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    connect: (connectOptions, callback) => {
      const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
      if (!allowPrivateNetwork && isIP(host) && isForbiddenAddress(host)) {
        callback(blocked(new ForbiddenAddressError(host, host)), null);
        return;
      }
      connector(connectOptions, callback);
    },
  });
}
