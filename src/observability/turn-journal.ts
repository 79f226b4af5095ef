import { Injectable } from '@nestjs/common';
import type { Platform } from '../common/platform';

/** A finished turn, as the turn pipeline reports it (HTTP and gRPC alike). */
export interface FinishedTurn {
  /** `Date.now()` when the turn finished. */
  readonly at: number;
  readonly requestId: string;
  /** The turn's trace id, when tracing recorded the turn. */
  readonly traceId?: string;
  readonly platform: Platform;
  readonly intent: string;
  readonly callerId: string;
  readonly outcome: string;
  readonly durationMs: number;
  readonly budgetMs: number;
}

export type TurnListener = (turn: FinishedTurn) => void;

/**
 * Where finished turns are announced, for whoever keeps them (the operator console's turn log). Announcing is
 * a call per listener on the request path: listeners only take note (push to a buffer) and never throw.
 */
@Injectable()
export class TurnJournal {
  private listeners: readonly TurnListener[] = [];

  get listened(): boolean {
    return this.listeners.length > 0;
  }

  /** Adds a listener; the returned function removes it. */
  listen(listener: TurnListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== listener);
    };
  }

  record(turn: FinishedTurn): void {
    for (const listener of this.listeners) listener(turn);
  }
}
