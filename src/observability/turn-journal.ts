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
  /** The parsed request body, as received (a reference: a listener that keeps it redacts it first). */
  readonly request?: unknown;
  /** The reply sent, when the turn produced one. */
  readonly reply?: { readonly status: number; readonly json: string };
}

export type TurnListener = (turn: FinishedTurn) => void;
/** Whether a listener wants the bodies of a turn of this platform and caller (a capture is on for them). */
export type BodiesWanted = (platform: Platform, callerId: string) => boolean;

/**
 * Where finished turns are announced, for whoever keeps them (the operator console's turn log). Announcing is
 * a call per listener on the request path: listeners only take note (push to a buffer) and never throw.
 */
@Injectable()
export class TurnJournal {
  private listeners: readonly TurnListener[] = [];
  private bodiesWanted: readonly BodiesWanted[] = [];

  get listened(): boolean {
    return this.listeners.length > 0;
  }

  /**
   * Adds a listener; the returned function removes it. A turn's bodies are passed only when `wantsBodies` says
   * so (no reference to a body is held for turns nobody captures).
   */
  listen(listener: TurnListener, wantsBodies?: BodiesWanted): () => void {
    this.listeners = [...this.listeners, listener];
    if (wantsBodies) this.bodiesWanted = [...this.bodiesWanted, wantsBodies];
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== listener);
      this.bodiesWanted = this.bodiesWanted.filter((candidate) => candidate !== wantsBodies);
    };
  }

  wantsBodies(platform: Platform, callerId: string): boolean {
    for (const wanted of this.bodiesWanted) if (wanted(platform, callerId)) return true;
    return false;
  }

  record(turn: FinishedTurn): void {
    for (const listener of this.listeners) listener(turn);
  }
}
