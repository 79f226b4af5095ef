import { Injectable } from '@nestjs/common';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import { verifyHeaderSignature } from '../hmac/header-signature';
import { MalformedCredentialHeader } from '../malformed-credential';
import { signatureFailure } from './standard-webhooks.strategy';

/**
 * A configurable single-header HMAC over the raw body, e.g. `x-signature: sha256=<hex>`. A signature or timestamp
 * header whose syntax no caller's scheme accepts (wrong prefix or encoding; a timestamp that is not integer
 * seconds) is a malformed request (400); a well-formed one that does not verify, or is out of the window, is 401.
 */
@Injectable()
export class HeaderSignatureStrategy implements AuthStrategy {
  readonly method = 'headerSignature' as const;

  constructor(private readonly callers: CallerRegistry) {}

  applies(attempt: AuthAttempt): boolean {
    return this.callers.withMethod(this.method).some(({ settings }) => attempt.headers[settings.header] !== undefined);
  }

  authenticate(attempt: AuthAttempt): Promise<StrategyOutcome> {
    let outcome: StrategyOutcome | undefined;
    let malformed: MalformedCredentialHeader | undefined;
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
      if (result.reason === 'malformed-timestamp' && settings.timestampHeader) {
        malformed ??= new MalformedCredentialHeader(
          settings.timestampHeader,
          'must be an integer number of seconds since the Unix epoch',
          'malformed-signature',
          result.reason,
        );
      } else if (result.reason === 'malformed-signature') {
        malformed ??= new MalformedCredentialHeader(
          settings.header,
          'does not have the prefix and encoding the signature scheme expects',
          'malformed-signature',
          result.reason,
        );
      } else {
        outcome = signatureFailure(result.reason);
      }
    }
    // A caller whose scheme could read the headers decides (401); otherwise the syntax was wrong for everyone.
    if (!outcome && malformed) return Promise.reject(malformed);
    return Promise.resolve(outcome ?? failure('bad-signature'));
  }
}
