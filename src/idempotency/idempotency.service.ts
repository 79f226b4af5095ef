import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { Deadline, DeadlineReachedError } from '../common/deadline';
import { AppError } from '../common/errors/app-error';
import { WorkInFlight } from '../common/work-in-flight';
import { runInBackground } from '../common/work-scope';
import { AppConfig } from '../config';
import { canonicalHash } from './canonical-hash';
import { ClaimOutcome, ClaimRequest, ExistingRecord, IdempotencyStore } from './idempotency.store';

export interface IdempotencyScope {
  readonly callerId: string;
  readonly platform: string;
  /** Caller-scoped key of the turn (`idempotencyKeyOf`). */
  readonly key: string;
  /** The parsed request body; its canonical hash must match on every retry. */
  readonly body: unknown;
}

/**
 * A response as sent (its `json` is what is stored). `keep: false`: the attempt had no effect, a retry runs
 * again. `later`: the response is sent now, but what retries get is still being made (work accepted after
 * the deadline): it is stored when it settles, or the key released when it settles to nothing.
 */
export interface TurnResponse extends StoredResponse {
  readonly keep: boolean;
  readonly later?: Promise<StoredResponse | undefined>;
}

export interface StoredResponse {
  readonly status: number;
  readonly json: string;
}

/** A reply and what to keep of it, field by field: responses made alike share a hidden class (see `withProperties`). */
export function turnResponse(
  reply: StoredResponse,
  keep: boolean,
  later?: Promise<StoredResponse | undefined>,
): TurnResponse {
  return { status: reply.status, json: reply.json, keep, later };
}

/** This delivery's own response, or the one stored by an earlier (or concurrent) delivery of the same turn. */
export interface IdempotentResponse extends StoredResponse {
  readonly replayed: boolean;
}

const FIRST_WAIT_MS = 10;
const LONGEST_WAIT_MS = 100;
/**
 * A lease outlasts its turn's budget, and is renewed while work accepted after the deadline goes on, so only a dead
 * owner's claim is ever taken over.
 */
export const LEASE_MARGIN_MS = 2000;
/** Renewals per lease: two may fail (a slow or restarting database) before the lease runs out. */
const RENEWALS_PER_LEASE = 3;

/**
 * Runs a state-changing turn once across retries and replicas. The first delivery claims the key in
 * PostgreSQL and runs; a duplicate waits (polling the record, so it works across replicas) for the stored response
 * up to its own deadline, then gets 409 so the platform retries; the same key with another body gets 422.
 * Every step spends the turn's own deadline: a duplicate that takes over a dead owner's claim runs with
 * what is left of its budget, and a step the deadline cuts short ends in `DeadlineReachedError`.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);
  private readonly storing = new WorkInFlight();

  constructor(
    private readonly store: IdempotencyStore,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Resolves once every reply being stored is, and every key being released, or after `timeoutMs`, with the number
   * still going on then (see `TurnPipeline.turnsFinished`).
   */
  responsesStored(timeoutMs: number): Promise<number> {
    return this.storing.settled(timeoutMs);
  }

  async execute(
    scope: IdempotencyScope,
    deadline: Deadline,
    run: () => Promise<TurnResponse>,
  ): Promise<IdempotentResponse> {
    const requestHash = canonicalHash(scope.body);
    const owner = randomUUID();
    const leaseMs = deadline.budgetMs * 2 + LEASE_MARGIN_MS;
    const waitUntil = this.clock.now() + deadline.remainingMs;
    const within = <T>(step: string, work: Promise<T>): Promise<T> =>
      deadline.race(work, () => new DeadlineReachedError(step));
    let wait = FIRST_WAIT_MS;
    let inFlightElsewhere = false;
    // Claimed first, then again only after a read finds the key free (gone, or abandoned by a dead owner): a
    // duplicate waiting on a turn in flight elsewhere only reads the record.
    let claimNext = true;
    for (;;) {
      try {
        let existing: ExistingRecord | undefined;
        if (claimNext) {
          const claim: ClaimRequest = {
            callerId: scope.callerId,
            key: scope.key,
            platform: scope.platform,
            requestHash,
            owner,
            leaseMs,
            ttlMs: this.config.idempotency.ttlMs,
          };
          const outcome = await this.claim(scope, owner, claim, within);
          if (outcome.claimed) break;
          existing = outcome.existing;
        } else {
          existing = await within('reading the turn', this.store.read(scope.callerId, scope.key));
        }
        if (existing && existing.requestHash !== requestHash) {
          throw new AppError(
            'IDEMPOTENCY_KEY_REUSED',
            'This request id was already used for a different request; send a new id for a new request.',
          );
        }
        if (existing?.state === 'completed') return { status: existing.status, json: existing.body, replayed: true };
        // Gone (released or purged, or committed just after the claim looked) or abandoned by a dead owner: claim it
        // again at once.
        claimNext = !existing || existing.leaseExpired;
        if (claimNext) continue;
        inFlightElsewhere = true;
      } catch (error: unknown) {
        // Out of time while another delivery runs the turn: that is the answer, not a slow database.
        if (error instanceof DeadlineReachedError && inFlightElsewhere) throw inProgress();
        throw error;
      }

      const left = waitUntil - this.clock.now();
      if (left <= 0) throw inProgress();
      await this.clock.sleep(Math.min(wait, left));
      wait = Math.min(wait * 2, LONGEST_WAIT_MS);
    }
    return this.runOwned(scope, owner, leaseMs, deadline, run);
  }

  /**
   * Claims the key, or reads who holds it, within the deadline; a claim the deadline cut short is released if it lands
   * later.
   */
  private async claim(
    scope: IdempotencyScope,
    owner: string,
    claim: ClaimRequest,
    within: <T>(step: string, work: Promise<T>) => Promise<T>,
  ): Promise<ClaimOutcome> {
    const claiming = this.store.claimOrRead(claim);
    try {
      return await within('claiming the turn', claiming);
    } catch (error: unknown) {
      if (error instanceof DeadlineReachedError) {
        void runInBackground(() =>
          claiming.then(
            (outcome) => (outcome.claimed ? this.release(scope, owner) : undefined),
            () => undefined,
          ),
        );
      }
      throw error;
    }
  }

  private async runOwned(
    scope: IdempotencyScope,
    owner: string,
    leaseMs: number,
    deadline: Deadline,
    run: () => Promise<TurnResponse>,
  ): Promise<IdempotentResponse> {
    let response: TurnResponse;
    try {
      response = await run();
    } catch (error: unknown) {
      await this.releaseWithin(scope, owner, deadline);
      throw error;
    }
    const { keep, later } = response;
    const sent: StoredResponse = { status: response.status, json: response.json };
    // Storing the response waits only while the deadline allows; past it the reply goes and the write goes on.
    this.storing.started();
    const storing = runInBackground(async () => {
      // Work going on past the reply (up to LATE_WORK_TIMEOUT_MS) may outlast the lease, and so may storing the
      // response (a busy pool, a slow commit): a retry must wait for the owner, not take the claim over.
      const renewing = this.keepLease(scope, owner, leaseMs);
      try {
        await this.settle(
          scope,
          owner,
          later ? this.bounded(later, deadline) : keep ? Promise.resolve(sent) : undefined,
        );
      } finally {
        renewing.stop();
        this.storing.finished();
      }
    });
    await deadline.race(storing, () => new DeadlineReachedError('storing the response')).catch(() => undefined);
    return { status: sent.status, json: sent.json, replayed: false };
  }

  /**
   * Work past the reply, given up once it outlives LATE_WORK_TIMEOUT_MS after the deadline by more than a lease
   * margin: the dispatcher aborts it then, but a handler that ignores its signal (an outbound call without it) never
   * settles, and its claim was renewed for as long as the process lived: every retry of the turn got 409.
   */
  private bounded<T>(later: Promise<T>, deadline: Deadline): Promise<T> {
    const limitMs = deadline.remainingMs + this.config.fulfillment.lateWorkTimeoutMs + LEASE_MARGIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`its work did not end within ${Math.round(limitMs)} ms of the reply; the key is released`)),
        limitMs,
      );
      timer.unref();
    });
    return Promise.race([later, givenUp]).finally(() => clearTimeout(timer));
  }

  /** Stores what retries of the turn get, or releases the key when there is nothing (no effect). */
  private async settle(
    scope: IdempotencyScope,
    owner: string,
    stored: Promise<StoredResponse | undefined> | undefined,
  ): Promise<void> {
    const response = await stored?.catch((error: unknown) => {
      this.logger.error(`Turn ${scope.key.slice(0, 12)}… failed after its reply: ${String(error)}`);
      return undefined;
    });
    if (!response) {
      await this.release(scope, owner);
      return;
    }
    try {
      const done = await this.store.complete(scope.callerId, scope.key, owner, response.status, response.json);
      if (!done) this.logger.warn(`Turn ${scope.key.slice(0, 12)}… finished after its claim was taken over`);
    } catch (error: unknown) {
      // The reply still goes out; the claim lapses with its lease and a retry then re-runs the handler,
      // whose own idempotent write keeps the effect single.
      this.logger.error(`Could not store the response of turn ${scope.key.slice(0, 12)}…: ${String(error)}`);
    }
  }

  /** Renews the claim's lease every third of it until stopped, or until the claim is no longer this owner's. */
  private keepLease(scope: IdempotencyScope, owner: string, leaseMs: number): { stop(): void } {
    const timer = setInterval(() => {
      this.store.renew(scope.callerId, scope.key, owner, leaseMs).then(
        (held) => {
          if (!held) clearInterval(timer);
        },
        (error: unknown) => this.logger.warn(`Could not renew turn ${scope.key.slice(0, 12)}…: ${String(error)}`),
      );
    }, leaseMs / RENEWALS_PER_LEASE);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  private async releaseWithin(scope: IdempotencyScope, owner: string, deadline: Deadline): Promise<void> {
    const releasing = runInBackground(() => this.release(scope, owner));
    await deadline.race(releasing, () => new DeadlineReachedError('releasing the turn')).catch(() => undefined);
  }

  private async release(scope: IdempotencyScope, owner: string): Promise<void> {
    this.storing.started();
    try {
      await this.store.release(scope.callerId, scope.key, owner);
    } catch (error: unknown) {
      this.logger.warn(`Could not release turn ${scope.key.slice(0, 12)}…: ${String(error)}`);
    } finally {
      this.storing.finished();
    }
  }
}

function inProgress(): AppError {
  return new AppError(
    'IDEMPOTENCY_IN_PROGRESS',
    'The same request is still being processed; retry shortly to get its result.',
    [],
    { 'Retry-After': '1' },
  );
}
