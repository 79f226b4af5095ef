import type { Request } from 'express';
import type { Caller, RateLimit } from '../caller';

/** What our middleware and guards attach to an incoming HTTP request. */
export interface RequestContext extends Request {
  requestId: string;
  /** The client's address (socket peer, or from a trusted proxy's forwarding header; see TRUSTED_PROXIES). */
  clientAddress?: string;
  /** The body bytes exactly as received (signature checks need them, never a re-serialised object). */
  rawBody?: Buffer;
  caller?: Caller;
  /** The caller's own rate limit from the callers file, when it has one. */
  callerRateLimit?: RateLimit;
  /** The credential was a signature over the body: headers it does not cover are not the sender's word. */
  bodySigned?: boolean;
}
