import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppError } from '../../common/errors/app-error';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import {
  checkTimestamp,
  decodeBase64Strict,
  DEFAULT_TOLERANCE_SECONDS,
  HmacFailureReason,
  isWebhookId,
  verifyStandardWebhook,
  WEBHOOK_ID_MAX_LENGTH,
} from '../hmac/standard-webhooks';
import { MalformedCredentialHeader } from '../malformed-credential';
import { ReplayStore, type ReplayVerdict } from '../replay/replay-store';

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

function invalidWebhookId(): AppError {
  return new AppError('MALFORMED_REQUEST', 'The webhook-id header is not a valid message id.', [
    {
      field: 'webhook-id',
      problem: `must be 1 to ${WEBHOOK_ID_MAX_LENGTH} characters: letters, digits and !#$%&'*+-^_\`|~ (no "." or spaces)`,
    },
  ]);
}

/** 422: the id was already used with another body; names the signer so the refusal is audited against it. */
export class WebhookIdReusedError extends AppError {
  constructor(readonly callerId: string) {
    super(
      'IDEMPOTENCY_KEY_REUSED',
      'This webhook-id was already used for a different message; send a new id for a new message.',
      [
        {
          field: 'webhook-id',
          problem: 'already used within the signature window for a different body (or, without a body, another path)',
        },
      ],
    );
  }
}

/**
 * What a message id is bound to in the replay window: its body's digest. A request without a body (a poll of
 * `GET /v1/fulfillments/:id`, Rasa's `GET /actions`) is signed over its id and time alone, so it is bound to its
 * method and path instead: a captured signature then cannot read another fulfillment (or call another route) within
 * its window, while the same request sent again still goes through.
 */
export function replayDigest(attempt: Pick<AuthAttempt, 'rawBody' | 'route'>): string {
  const hash = createHash('sha256');
  if (attempt.rawBody.length === 0 && attempt.route !== undefined) hash.update('\0route ').update(attempt.route);
  else hash.update(attempt.rawBody);
  return hash.digest('hex');
}

/** `v1,<base64>` entries (any version, e.g. `v1a`), separated by spaces. */
function isSignatureList(value: string): boolean {
  const entries = value.split(' ').filter((entry) => entry !== '');
  return (
    entries.length > 0 &&
    entries.every((entry) => {
      const comma = entry.indexOf(',');
      return comma > 0 && /^[A-Za-z0-9]+$/.test(entry.slice(0, comma)) && !!decodeBase64Strict(entry.slice(comma + 1));
    })
  );
}

/** A timestamp or signature header that no caller could read: 400, audited as today's malformed-signature. */
function syntaxError(headers: { timestamp?: string; signature?: string }): MalformedCredentialHeader | undefined {
  const malformed = (name: string, problem: string, detail: HmacFailureReason) =>
    new MalformedCredentialHeader(name, problem, 'malformed-signature', detail);
  // Only the syntax is checked here (any window would do); the window itself is a credential check, 401.
  const time = headers.timestamp ? checkTimestamp(headers.timestamp, 0, 0) : undefined;
  if (time?.ok === false && time.reason === 'malformed-timestamp') {
    return malformed('webhook-timestamp', 'must be an integer number of seconds since the Unix epoch', time.reason);
  }
  if (headers.signature && !isSignatureList(headers.signature)) {
    return malformed(
      'webhook-signature',
      'must be a space-separated list of <version>,<base64> entries, e.g. v1,<base64>',
      'malformed-signature',
    );
  }
  return undefined;
}

function header(attempt: AuthAttempt, name: string): string | undefined {
  const value = attempt.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, ±300 s. A `webhook-id` that is not a message id is a
 * malformed request (400). Each id is remembered with a digest of its body (`replayDigest`) for as long as its signature is
 * accepted: a sender's retry (same id and body, new timestamp) and a repeat of the same request go through, and
 * the turn's idempotency store answers them with the first delivery's response; the same id with another body
 * is refused with 422, like an idempotency key reused for another request.
 */
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

  authenticate(attempt: AuthAttempt): Promise<StrategyOutcome> {
    // A syntax error in the headers rejects (as it would from an async method), for the authenticator to audit.
    return new Promise((resolve) => resolve(this.verify(attempt)));
  }

  private verify(attempt: AuthAttempt): StrategyOutcome {
    const headers = {
      id: header(attempt, 'webhook-id'),
      timestamp: header(attempt, 'webhook-timestamp'),
      signature: header(attempt, 'webhook-signature'),
    };
    // Absent is a missing credential (401); present but unusable is a syntax error, the same for every caller.
    if (headers.id !== undefined && !isWebhookId(headers.id)) throw invalidWebhookId();
    const malformed = syntaxError(headers);
    if (malformed) throw malformed;
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
        // clock differences between replicas and the database: the id stays bound to this body for as long as
        // the signature would still be accepted.
        const window = result.timestamp + DEFAULT_TOLERANCE_SECONDS + REPLAY_MARGIN_SECONDS - attempt.nowSeconds;
        const digest = replayDigest(attempt);
        // Bound only once the caller is admitted (source ranges, platform, certificate binding): a refused call
        // must not spend its id, or the sender's corrected retry would be refused as a reuse.
        const onAdmitted = async (): Promise<void> => {
          const verdict = await this.remember(caller.id, result.webhookId, digest, Math.max(window, 1));
          if (verdict === 'conflict') {
            this.logger.warn(`Caller ${caller.id} reused webhook-id ${result.webhookId} for another body: refused`);
            throw new WebhookIdReusedError(caller.id);
          }
        };
        return { ok: true, caller, onAdmitted };
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
  private async remember(
    callerId: string,
    messageId: string,
    bodyDigest: string,
    windowSeconds: number,
  ): Promise<ReplayVerdict> {
    try {
      return await this.replays.remember(callerId, messageId, bodyDigest, windowSeconds);
    } catch (error: unknown) {
      if (Date.now() - this.lastOutageLog >= OUTAGE_LOG_INTERVAL_MS) {
        this.lastOutageLog = Date.now();
        this.logger.error(`Replay window unavailable, refusing signed requests with 503: ${String(error)}`);
      }
      throw new AppError('UNAVAILABLE', 'The replay check is unavailable; retry shortly.', [], { 'Retry-After': '1' });
    }
  }
}
