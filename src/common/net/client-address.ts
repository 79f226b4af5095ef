import { BlockList, isIP, SocketAddress } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * An address as one canonical string, or undefined when it is not an IP address: brackets and an IPv6 zone
 * are dropped, IPv6 is compressed and lower-cased, and an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as
 * Node reports IPv4 peers on a dual-stack socket) becomes plain IPv4, so one client has one spelling.
 */
export function normaliseAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const version = isIP(bare);
  if (version === 4) return bare;
  if (version !== 6) return undefined;
  const canonical = new SocketAddress({ address: bare, family: 'ipv6' }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical);
  return mapped ? mapped[1] : canonical;
}

/** One `address/prefix` range; a bare address is a single host. Undefined when it is not a valid range. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [host, bits, extra] = text.trim().split('/');
  if (extra !== undefined || host.includes('%')) return undefined;
  const version = isIP(host);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return undefined;
  return { address: host, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A set of IPv4/IPv6 ranges (CIDR); IPv4 ranges also match the IPv4-mapped IPv6 spelling of an address. */
export class IpRanges {
  private readonly list = new BlockList();

  private constructor(readonly ranges: readonly string[]) {
    for (const range of ranges) {
      const cidr = parseCidr(range);
      if (cidr) this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }

  /** The ranges, or the entries that are not ranges (`invalid`, empty when all are fine). */
  static parse(ranges: readonly string[]): { ranges: IpRanges; invalid: string[] } {
    const invalid = ranges.filter((range) => parseCidr(range) === undefined);
    return { ranges: new IpRanges(ranges.map((range) => range.trim())), invalid };
  }

  /** Parses a comma-separated list (an environment variable); blanks are skipped. */
  static parseList(text: string | undefined): { ranges: IpRanges; invalid: string[] } {
    return IpRanges.parse((text ?? '').split(',').filter((range) => range.trim() !== ''));
  }

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  contains(address: string | undefined): boolean {
    const normalised = normaliseAddress(address);
    if (!normalised || this.empty) return false;
    return this.list.check(normalised, isIP(normalised) === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The `for=` node of each element of `Forwarded` (RFC 7239), left to right (nearest proxy last); `undefined`
 * for an element without one or one that is not an address (`unknown`, an obfuscated `_name`, garbage). Node
 * values never contain `,`, `;` or `=`, so splitting on them is exact for every valid value, and a malformed
 * element (an unbalanced quote, say) spoils only itself.
 */
export function forwardedFor(values: readonly string[]): (string | undefined)[] {
  const nodes: (string | undefined)[] = [];
  for (const element of values.flatMap((value) => value.split(','))) {
    if (element.trim() === '') continue;
    let node: string | undefined;
    let seen = false;
    for (const pair of element.split(';')) {
      const separator = pair.indexOf('=');
      if (separator < 0 || pair.slice(0, separator).trim().toLowerCase() !== 'for') continue;
      // A second for= in one element is malformed: trust neither.
      node = seen ? undefined : nodeAddress(unquote(pair.slice(separator + 1).trim()));
      seen = true;
    }
    nodes.push(node);
  }
  return nodes;
}

/** The addresses of `X-Forwarded-For`, left to right; `undefined` for an entry that is not an address. */
export function xForwardedFor(values: readonly string[]): (string | undefined)[] {
  return values
    .flatMap((value) => value.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => nodeAddress(entry));
}

function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return value.includes('"') ? undefined : value;
  return value.length >= 2 && value.endsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : undefined;
}

/** `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]`, `[2001:db8::1]:80`, a bare IPv6 address (X-Forwarded-For style). */
function nodeAddress(node: string | undefined): string | undefined {
  // A zone (`fe80::1%eth0`) names an interface of the sender's host: never an address to trust or match.
  if (!node || node.includes('%')) return undefined;
  const bracketed = /^\[([^\]]+)\](?::[A-Za-z0-9._-]+)?$/.exec(node);
  if (bracketed) return isIP(bracketed[1]) === 6 ? normaliseAddress(bracketed[1]) : undefined;
  if (isIP(node) === 6) return normaliseAddress(node);
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::[A-Za-z0-9._-]+)?$/.exec(node);
  return v4 ? normaliseAddress(v4[1]) : undefined;
}

export interface ForwardingHeaders {
  /** Every `Forwarded` value (or one comma-joined value, as Node joins repeated headers). */
  readonly forwarded: readonly string[];
  readonly xForwardedFor: readonly string[];
}

/** Every value of a header as received (Node joins repeated `Forwarded`/`X-Forwarded-For` lines with ", "). */
function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The forwarding headers of an HTTP request. */
export function forwardingHeaders(headers: IncomingHttpHeaders): ForwardingHeaders {
  return { forwarded: headerValues(headers, 'forwarded'), xForwardedFor: headerValues(headers, 'x-forwarded-for') };
}

export interface ClientAddress {
  /** The address every limit, allowlist, audit row and log line uses. */
  readonly address?: string;
  /** Set when forwarding headers came from a peer that is not a trusted proxy, and were ignored. */
  readonly ignoredForwarding?: string;
}

/** The one forwarding header the proxies in front maintain (FORWARDED_HEADER). */
export type ForwardingHeaderName = 'x-forwarded-for' | 'forwarded';

/**
 * Chooses the client's address. The socket peer, unless the peer is a trusted proxy: then the forwarding header
 * the proxies maintain (`header`, FORWARDED_HEADER; only that one, since a proxy that appends to one header
 * passes the other through as the client wrote it) is read from the right, skipping trusted proxies, and the
 * first hop that is not one is the client. Everything left of it was written by the client and is not
 * believed. When that hop is not an address (`unknown`, obfuscated, garbage) the nearest trusted proxy that
 * reported it stands for the client; when every hop is trusted, the left-most one is the client.
 */
export function resolveClientAddress(
  peer: string | undefined,
  headers: ForwardingHeaders,
  trusted: IpRanges,
  header: ForwardingHeaderName = 'x-forwarded-for',
): ClientAddress {
  const socket = normaliseAddress(peer) ?? peer;
  const sent = [
    ...(headers.forwarded.length > 0 ? ['forwarded'] : []),
    ...(headers.xForwardedFor.length > 0 ? ['x-forwarded-for'] : []),
  ].join(', ');
  if (!sent) return { address: socket };
  if (!trusted.contains(socket)) return { address: socket, ignoredForwarding: sent };
  const hops = header === 'forwarded' ? forwardedFor(headers.forwarded) : xForwardedFor(headers.xForwardedFor);
  let client = socket;
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = hops[index];
    if (hop === undefined) break;
    client = hop;
    if (!trusted.contains(hop)) break;
  }
  return { address: client };
}

/** The counting key for per-address limits: an IPv6 client owns a whole /64, so it is counted as one. */
export function addressLimitKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
