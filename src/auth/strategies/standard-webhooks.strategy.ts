import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import { DEFAULT_TOLERANCE_SECONDS, HmacFailureReason, verifyStandardWebhook } from '../hmac/standard-webhooks';
import { ReplayStore } from '../replay/replay-store';

const REPLAY_MARGIN_SECONDS = 60;
const OUTAGE_LOG_INTERVAL_MS = 10_000;

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
  private readonly logger = new Logger('ReplayWindow');
  private lastOutageLog = 0;

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
        // Remember the id until the message itself is stale (its timestamp + tolerance), plus a margin for
        // clock differences between replicas and the database: a replay is refused for as long as the
        // signature would still be accepted.
        const window = result.timestamp + DEFAULT_TOLERANCE_SECONDS + REPLAY_MARGIN_SECONDS - attempt.nowSeconds;
        const fresh = await this.remember(caller.id, result.webhookId, Math.max(window, 1));
        return fresh
          ? { ok: true, caller }
          : { ok: false, reason: 'replay', detail: result.webhookId, callerId: caller.id };
      }
      // A timestamp or format problem is the same for every caller: report it rather than a mismatch.
      if (result.reason !== 'signature-mismatch') return signatureFailure(result.reason);
      worst = signatureFailure(result.reason);
    }
    return worst;
  }

  /**
   * Fails closed: a signed message whose id cannot be checked against the replay window (its store is
   * unreachable or too busy) is refused with 503 and Retry-After, never let through; the sender retries.
   */
  private async remember(callerId: string, messageId: string, windowSeconds: number): Promise<boolean> {
    try {
      return await this.replays.remember(callerId, messageId, windowSeconds);
    } catch (error: unknown) {
      if (Date.now() - this.lastOutageLog >= OUTAGE_LOG_INTERVAL_MS) {
        this.lastOutageLog = Date.now();
        this.logger.error(`Replay window unavailable, refusing signed requests with 503: ${String(error)}`);
      }
      throw new AppError('UNAVAILABLE', 'The replay check is unavailable; retry shortly.', [], { 'Retry-After': '1' });
    }
  }
}
