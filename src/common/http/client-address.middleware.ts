import type { NextFunction, Request, Response } from 'express';
import { type ForwardingHeaderName, forwardingHeaders, IpRanges, resolveClientAddress } from '../net/client-address';
import type { RequestContext } from './request-context';

/**
 * Settles each request's client address (`request.clientAddress`, which the access log and the audit rows use)
 * from the socket peer and, from a trusted proxy only, the forwarding header: for listeners without the
 * pre-authentication limit, which settles it on the webhook port.
 */
export function clientAddressMiddleware(trustedProxies: readonly string[], header: ForwardingHeaderName) {
  const trusted = IpRanges.parse(trustedProxies).ranges;
  return (req: Request, _response: Response, next: NextFunction): void => {
    const request = req as RequestContext;
    request.clientAddress = resolveClientAddress(
      request.socket.remoteAddress,
      forwardingHeaders(request.headers),
      trusted,
      header,
    ).address;
    next();
  };
}
