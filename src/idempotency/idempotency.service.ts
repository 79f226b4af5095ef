import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config';
import { canonicalHash } from './canonical-hash';
import { IdempotencyStore } from './idempotency.store';

export interface IdempotencyScope {
  readonly callerId: string;
  readonly platform: string;
  /** Caller-scoped key of the turn (`idempotencyKeyOf`). */
  readonly key: string;
  /** The parsed request body; its canonical hash must match on every retry. */
  readonly body: unknown;
}

/** A response as sent (its `json` is what is stored); `keep: false`: the attempt had no effect, a retry runs again. */
export type TurnResponse<R extends StoredResponse = StoredResponse> = R & { readonly keep: boolean };

export interface StoredResponse {
  readonly status: number;
  readonly json: string;
}

/** This delivery's own response, or the one stored by an earlier (or concurrent) delivery of the same turn. */
export type IdempotentResponse<R extends StoredResponse = StoredResponse> =
  (Omit<R, 'keep'> & { readonly replayed: false }) | (StoredResponse & { readonly replayed: true });

const FIRST_WAIT_MS = 10;
const LONGEST_WAIT_MS = 100;

/**
 * Runs a state-changing turn once across retries and replicas. The first delivery claims the key in
 * PostgreSQL and runs; a duplicate waits (polling, so it works across replicas) for the stored response up
 * to its own deadline, then gets 409 so the platform retries; the same key with another body gets 422.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);

  constructor(
    private readonly store: IdempotencyStore,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async execute<R extends StoredResponse>(
    scope: IdempotencyScope,
    budgetMs: number,
    run: () => Promise<TurnResponse<R>>,
  ): Promise<IdempotentResponse<R>> {
    const requestHash = canonicalHash(scope.body);
    const owner = randomUUID();
    // The lease outlasts the turn's own budget, so only a dead owner's claim is ever taken over.
    const leaseMs = budgetMs * 2 + 2000;
    const waitUntil = this.clock.now() + budgetMs;
    let wait = FIRST_WAIT_MS;

    for (;;) {
      const claim = { ...scope, requestHash, owner, leaseMs, ttlMs: this.config.idempotency.ttlMs };
      if (await this.store.claim(claim)) return this.runOwned(scope, owner, run);

      const existing = await this.store.read(scope.callerId, scope.key);
      if (existing && existing.requestHash !== requestHash) {
        throw new AppError(
          'IDEMPOTENCY_KEY_REUSED',
          'This request id was already used for a different request; send a new id for a new request.',
        );
      }
      if (existing?.state === 'completed') return { status: existing.status, json: existing.body, replayed: true };
      // Gone (released or purged) or abandoned by a dead owner: claim it again at once.
      if (!existing || existing.leaseExpired) continue;

      const left = waitUntil - this.clock.now();
      if (left <= 0) {
        throw new AppError(
          'IDEMPOTENCY_IN_PROGRESS',
          'The same request is still being processed; retry shortly to get its result.',
          [],
          { 'Retry-After': '1' },
        );
      }
      await this.clock.sleep(Math.min(wait, left));
      wait = Math.min(wait * 2, LONGEST_WAIT_MS);
    }
  }

  private async runOwned<R extends StoredResponse>(
    scope: IdempotencyScope,
    owner: string,
    run: () => Promise<TurnResponse<R>>,
  ): Promise<IdempotentResponse<R>> {
    let response: TurnResponse<R>;
    try {
      response = await run();
    } catch (error: unknown) {
      await this.release(scope, owner);
      throw error;
    }
    if (!response.keep) {
      await this.release(scope, owner);
    } else {
      try {
        const stored = await this.store.complete(scope.callerId, scope.key, owner, response.status, response.json);
        if (!stored) this.logger.warn(`Turn ${scope.key.slice(0, 12)}… finished after its claim was taken over`);
      } catch (error: unknown) {
        // The reply still goes out; the claim lapses with its lease and a retry then re-runs the handler,
        // whose own idempotent write keeps the effect single.
        this.logger.error(`Could not store the response of turn ${scope.key.slice(0, 12)}…: ${String(error)}`);
      }
    }
    const { keep, ...sent } = response;
    return { ...sent, replayed: false };
  }

  private async release(scope: IdempotencyScope, owner: string): Promise<void> {
    try {
      await this.store.release(scope.callerId, scope.key, owner);
    } catch (error: unknown) {
      this.logger.warn(`Could not release turn ${scope.key.slice(0, 12)}…: ${String(error)}`);
    }
  }
}
