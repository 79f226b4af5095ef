import { Injectable } from '@nestjs/common';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import { DEFAULT_TOLERANCE_SECONDS, HmacFailureReason, verifyStandardWebhook } from '../hmac/standard-webhooks';
import { ReplayStore } from '../replay/replay-store';

export function signatureFailure(reason: HmacFailureReason): StrategyOutcome {
  switch (reason) {
    case 'timestamp-too-old':
    case 'timestamp-in-future':
      return failure('timestamp-out-of-window', reason);
    case 'signature-mismatch':
      return failure('bad-signature');
    default:
      return failure('malformed-signature', reason);
  }
}

function header(attempt: AuthAttempt, name: string): string | undefined {
  const value = attempt.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, ±300 s, each `webhook-id` accepted once. */
@Injectable()
export class StandardWebhooksStrategy implements AuthStrategy {
  readonly method = 'standardWebhooks' as const;

  constructor(
    private readonly callers: CallerRegistry,
    private readonly replays: ReplayStore,
  ) {}

  applies(attempt: AuthAttempt): boolean {
    return ['webhook-signature', 'webhook-id', 'webhook-timestamp'].some((name) => attempt.headers[name] !== undefined);
  }

  async authenticate(attempt: AuthAttempt): Promise<StrategyOutcome> {
    const headers = {
      id: header(attempt, 'webhook-id'),
      timestamp: header(attempt, 'webhook-timestamp'),
      signature: header(attempt, 'webhook-signature'),
    };
    let worst: StrategyOutcome = failure('bad-signature');
    for (const { caller, settings } of this.callers.withMethod(this.method)) {
      const result = verifyStandardWebhook({
        headers,
        rawBody: attempt.rawBody,
        secrets: settings.secrets,
        nowSeconds: attempt.nowSeconds,
      });
      if (result.ok) {
        // Two tolerance windows: a message signed at the edge of one side stays refused until it is stale anyway.
        const fresh = await this.replays.remember(caller.id, result.webhookId, 2 * DEFAULT_TOLERANCE_SECONDS);
        return fresh ? { ok: true, caller } : failure('replay', caller.id);
      }
      // A timestamp or format problem is the same for every caller: report it rather than a mismatch.
      if (result.reason !== 'signature-mismatch') return signatureFailure(result.reason);
      worst = signatureFailure(result.reason);
    }
    return worst;
  }
}
