import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AppError } from '../../common/errors/app-error';
import type { RequestContext } from '../../common/http/request-context';
import { addressLimitKey } from '../../common/net/client-address';

/** Sign-in steps (`/login`, `/callback`) one client address may take per window. */
export const SIGN_IN_ATTEMPTS = 30;
export const SIGN_IN_WINDOW_MS = 60_000;

/**
 * A per-address budget for the sign-in routes, the console's only unauthenticated ones. Each `/callback` may post
 * the console's client secret to the identity provider, whose own throttling or lockout of the client would stop
 * every operator's sign-in: one address cannot drive that. Counted per replica (sign-ins are rare).
 */
@Injectable()
export class SignInLimit {
  /** Made on the first sign-in: lru-cache allocates for all its entries at once (a few ms of every start). */
  private table?: LRUCache<string, { count: number; endsAt: number }>;

  private get windows(): LRUCache<string, { count: number; endsAt: number }> {
    return (this.table ??= new LRUCache({ max: 50_000 }));
  }

  /** Counts one step; throws RATE_LIMITED (429 with Retry-After) past the budget. */
  admit(
    request: Pick<RequestContext, 'clientAddress'> & { readonly socket: { readonly remoteAddress?: string } },
    now = Date.now(),
  ): void {
    const address = request.clientAddress ?? request.socket.remoteAddress;
    if (!address) return;
    const key = addressLimitKey(address);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + SIGN_IN_WINDOW_MS };
      this.windows.set(key, window);
    }
    window.count += 1;
    if (window.count > SIGN_IN_ATTEMPTS) {
      const retryAfter = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
      throw new AppError('RATE_LIMITED', 'Too many sign-in attempts from this address; retry after Retry-After.', [], {
        'Retry-After': String(retryAfter),
      });
    }
  }
}
