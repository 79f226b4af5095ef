import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http';
import type { Caller, RateLimit } from '../common/caller';
import type { ForwardingHeaders } from '../common/net/client-address';
import { acceptedRequestId } from '../common/limits';
import type { Platform } from '../common/platform';

/** What the gRPC guards attach to a call, like `RequestContext` for an HTTP request. */
export interface GrpcCallState {
  requestId?: string;
  /** The client's address (the peer, or from a trusted proxy's forwarding metadata; see TRUSTED_PROXIES). */
  clientAddress?: string;
  caller?: Caller;
  callerRateLimit?: RateLimit;
  /** The credential was a signature over the relayed bytes: metadata it does not cover is not the sender's word. */
  bodySigned?: boolean;
  /** The platform the call is for: `generic` for Fulfill, the request's `platform` for HandleWebhook. */
  platform?: Platform;
  /** `performance.now()` when the call reached the service: its turn's budget starts here. */
  arrivedAt?: number;
  /**
   * The initial (header) metadata the guards build (`x-request-id`, then the rate-limit entries); the last guard,
   * GrpcCallerThrottlerGuard, sends it. A call refused before has these in its trailers instead.
   */
  responseMetadata?: Metadata;
}

export type GrpcUnaryCall<Request = unknown, Response = unknown> = ServerUnaryCall<Request, Response> & GrpcCallState;

/** The caller's `x-request-id` when it is safe to echo (the rule HTTP applies), else a new UUID. */
export function requestIdOf(metadata: Metadata): string {
  const offered = metadata.get('x-request-id');
  return acceptedRequestId(offered.length === 1 ? offered[0] : undefined);
}

/** A text metadata entry as an HTTP header would arrive: one value as a string, several as a list. */
export function metadataValue(metadata: Metadata, name: string): string | string[] | undefined {
  const values = metadata.get(name).filter((value): value is string => typeof value === 'string');
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values;
}

/**
 * The text metadata as HTTP headers (first value of each name) and as raw name/value pairs, so the
 * authenticator sees gRPC credentials exactly as it sees HTTP ones, duplicates included.
 */
export function metadataHeaders(metadata: Metadata): { headers: IncomingHttpHeaders; rawHeaders: string[] } {
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  for (const [name, values] of Object.entries(metadata.getMap())) {
    if (typeof values !== 'string') continue; // binary (-bin) entries carry no credentials
    for (const value of metadata.get(name)) {
      if (typeof value !== 'string') continue;
      headers[name] ??= value;
      rawHeaders.push(name, value);
    }
  }
  return { headers, rawHeaders };
}

/**
 * The forwarding metadata a trusted proxy in front (Envoy, a mesh) adds, as HTTP's `forwardingHeaders` reads them:
 * gRPC clients send none of their own.
 */
export function forwardingMetadata(metadata: Metadata): ForwardingHeaders {
  return {
    forwarded: [metadataValue(metadata, 'forwarded') ?? []].flat(),
    xForwardedFor: [metadataValue(metadata, 'x-forwarded-for') ?? []].flat(),
  };
}

/** The client's address without the port, from grpc-js's `address:port` peer string (IPv6 included). */
export function remoteAddressOf(call: Pick<ServerUnaryCall<unknown, unknown>, 'getPeer'>): string | undefined {
  const peer = call.getPeer();
  const colon = peer.lastIndexOf(':');
  return colon > 0 ? peer.slice(0, colon) : peer === 'unknown' ? undefined : peer;
}
