import { Injectable } from '@nestjs/common';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';

/**
 * A caller's static bearer token (`bearer.tokens` in the callers file) sent as a query parameter, on the routes
 * that take one (`QueryTokenParameter`); compared in constant time like the header's. Sent twice, it is refused.
 */
@Injectable()
export class QueryTokenStrategy implements AuthStrategy {
  readonly method = 'bearer' as const;

  constructor(private readonly callers: CallerRegistry) {}

  applies(attempt: AuthAttempt): boolean {
    return (attempt.queryTokens?.length ?? 0) > 0;
  }

  authenticate(attempt: AuthAttempt): Promise<StrategyOutcome> {
    const tokens = attempt.queryTokens ?? [];
    if (tokens.length !== 1) return Promise.resolve(failure('unknown-token', 'query token sent more than once'));
    const caller = this.callers.findByBearerToken(tokens[0]);
    return Promise.resolve(caller ? { ok: true, caller } : failure('unknown-token', 'query token'));
  }
}
