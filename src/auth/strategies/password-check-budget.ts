import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { AppConfig } from '../../config';

/** Checks that may wait for a free slot, per slot: beyond that a burst is answered at once rather than queued. */
const QUEUED_PER_SLOT = 8;

/**
 * A bound on the scrypt work basic authentication does at once (BASIC_AUTH_MAX_CONCURRENT_CHECKS). Every
 * presented password is hashed — for an unknown username too, so timing reveals nothing — and scrypt runs on
 * libuv's small thread pool, which DNS lookups and file reads share. Without a bound, random usernames from many
 * addresses (each under its own pre-auth limit and username backoff) would each cost ~50 ms of a pool thread.
 * With it, a few checks run, a short queue waits, and the rest are refused with 503 and Retry-After before any
 * hashing: the flood costs the service its basic-auth throughput, not its other callers.
 */
@Injectable()
export class PasswordCheckBudget {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly config: AppConfig) {}

  async run<T>(check: () => Promise<T>): Promise<T> {
    const slots = this.config.network.basicBackoff.maxConcurrentChecks;
    if (this.running >= slots) {
      if (this.waiting.length >= slots * QUEUED_PER_SLOT) throw passwordChecksBusy();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await check();
    } finally {
      // The slot passes straight to the next waiter, so `running` only drops when nobody waits.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}

/** The answer to a password check that cannot be made now: 503 with Retry-After, nothing counted against anyone. */
export function passwordChecksBusy(): AppError {
  return new AppError('OVERLOADED', 'Too many password checks at once; retry shortly.', [], { 'Retry-After': '1' });
}
