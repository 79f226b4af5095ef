import type { IncomingHttpHeaders } from 'node:http';
import { isLoopbackAddress } from '../../common/net/loopback';
import type { AdminPrincipal } from './admin-principal';

/** Host names a browser on this machine uses for a loopback listener (DNS rebinding sends another name). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Headers a proxy adds for the client it relays (`X-Forwarded-*` as a family, since proxies add the members
 * they like). A browser on this machine talking to the console sends none of them.
 */
const FORWARDING_HEADERS = [
  'forwarded',
  'via',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-envoy-external-address',
];

export const LOCAL_OPERATOR: AdminPrincipal = {
  subject: 'local-operator',
  name: 'Local operator',
  roles: ['operator'],
  via: 'local',
  sessionId: 'local',
};

/** What the decision reads of a request: its peer, its client address as settled for TRUSTED_PROXIES, its headers. */
export interface LocalRequest {
  readonly socket: { readonly remoteAddress?: string };
  readonly headers: IncomingHttpHeaders;
  /** The client address the service settled on (behind a trusted proxy, the forwarded client's). */
  readonly clientAddress?: string;
}

/**
 * Outside production, a request from a browser on this machine to a loopback name is the local operator: no login
 * while developing. All of these must hold:
 * - the socket peer is loopback, and so is the client address settled from it (behind a proxy in TRUSTED_PROXIES,
 *   the forwarded client's);
 * - no forwarding header came with it: a proxy on this machine (nginx in front of a development instance) connects
 *   from loopback for a client anywhere. Believed or not, such a header says the request was relayed, so it is
 *   refused even when the proxy is not in TRUSTED_PROXIES (its header then ignored) and when the settled address
 *   is loopback only because the proxy wrote `unknown` or an obfuscated hop, which stands for the proxy itself;
 * - the Host is a loopback name, so a web page whose domain resolves to 127.0.0.1 (DNS rebinding) is not one.
 * A proxy that adds no forwarding header and passes a loopback Host cannot be told from a local browser: a console
 * behind any proxy needs sign-in (ADMIN_OIDC_ISSUER).
 */
export function isLocalOperatorRequest(request: LocalRequest): boolean {
  const host = request.headers.host;
  if (!isLoopbackAddress(request.socket.remoteAddress) || !host) return false;
  if (request.clientAddress !== undefined && !isLoopbackAddress(request.clientAddress)) return false;
  if (isForwarded(request.headers)) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return LOOPBACK_HOSTS.has(name.toLowerCase());
}

function isForwarded(headers: IncomingHttpHeaders): boolean {
  return Object.keys(headers).some((name) => name.startsWith('x-forwarded-') || FORWARDING_HEADERS.includes(name));
}
