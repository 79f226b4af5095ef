import { Injectable } from '@nestjs/common';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import { verifyHeaderSignature } from '../hmac/header-signature';
import { signatureFailure } from './standard-webhooks.strategy';

/** A configurable single-header HMAC over the raw body, e.g. `x-signature: sha256=<hex>`. */
@Injectable()
export class HeaderSignatureStrategy implements AuthStrategy {
  readonly method = 'headerSignature' as const;

  constructor(private readonly callers: CallerRegistry) {}

  applies(attempt: AuthAttempt): boolean {
    return this.callers.withMethod(this.method).some(({ settings }) => attempt.headers[settings.header] !== undefined);
  }

  authenticate(attempt: AuthAttempt): Promise<StrategyOutcome> {
    let outcome: StrategyOutcome = failure('bad-signature');
    for (const { caller, settings } of this.callers.withMethod(this.method)) {
      const value = attempt.headers[settings.header];
      if (value === undefined) continue;
      const timestamp = settings.timestampHeader ? attempt.headers[settings.timestampHeader] : undefined;
      const result = verifyHeaderSignature({
        scheme: settings,
        headerValue: typeof value === 'string' ? value : undefined,
        timestampValue: typeof timestamp === 'string' ? timestamp : undefined,
        rawBody: attempt.rawBody,
        secrets: settings.secrets,
        nowSeconds: attempt.nowSeconds,
      });
      if (result.ok) return Promise.resolve({ ok: true, caller });
      outcome = signatureFailure(result.reason);
    }
    return Promise.resolve(outcome);
  }
}
