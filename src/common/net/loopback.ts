import { isIP } from 'node:net';

/**
 * Whether a peer address is a loopback address: 127.0.0.0/8, ::1, or 127.x mapped into IPv6. Accepts the
 * forms transports report (`::ffff:127.0.0.1` from Node, `[::1]` from grpc-js); anything else is not loopback.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const version = isIP(bare);
  if (version === 4) return bare.startsWith('127.');
  if (version !== 6) return false;
  const lower = bare.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^(?:0:0:0:0:0|):ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower.replace(/^::/, ':'));
  return mapped !== null && mapped[1].startsWith('127.');
}
