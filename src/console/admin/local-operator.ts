import { isLoopbackAddress } from '../../common/net/loopback';
import type { AdminPrincipal } from './admin-principal';

/** Host names a browser on this machine uses for a loopback listener (DNS rebinding sends another name). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export const LOCAL_OPERATOR: AdminPrincipal = {
  subject: 'local-operator',
  name: 'Local operator',
  roles: ['operator'],
  via: 'local',
  sessionId: 'local',
};

/**
 * Outside production, a request from this machine to a loopback name is the local operator: no login while
 * developing. The peer address is the socket's own (no forwarding header is believed here), and the Host must be
 * a loopback name, so a web page whose domain resolves to 127.0.0.1 (DNS rebinding) is not taken for one.
 */
export function isLocalOperatorRequest(peerAddress: string | undefined, host: string | undefined): boolean {
  if (!isLoopbackAddress(peerAddress) || !host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return LOOPBACK_HOSTS.has(name.toLowerCase());
}
