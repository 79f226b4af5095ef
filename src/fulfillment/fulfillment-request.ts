import type { Caller } from '../common/caller';
import type { Platform } from '../common/platform';

export type { Caller } from '../common/caller';

/** A conversation context (Dialogflow) or equivalent, by its short name. */
export interface ConversationContext {
  readonly name: string;
  readonly lifespan?: number;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/**
 * Where in the conversation the platform calls: `dialog` while it is still collecting or validating
 * slots (Lex DialogCodeHook, Dialogflow CX form validation), `fulfillment` when the intent is complete.
 */
export type FulfillmentStage = 'dialog' | 'fulfillment';

/** The user's answer to a confirmation prompt, when the platform tracks one (Lex `confirmationState`). */
export type ConfirmationState = 'confirmed' | 'denied' | 'none';

/** The platform-neutral request every intent handler receives. */
export interface FulfillmentRequest {
  readonly platform: Platform;
  /** The platform's id for this turn (Dialogflow ES `responseId`). */
  readonly requestId: string;
  /**
   * The same for every delivery of this turn (platform retries, duplicates on other replicas), scoped to the
   * caller. State-changing handlers pass it to their writes (e.g. a unique column) so that the effect
   * happens once even if a run is repeated after a crash.
   */
  readonly idempotencyKey: string;
  readonly sessionId: string;
  readonly intent: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly contexts: readonly ConversationContext[];
  /** Values kept for the whole session (CX session parameters, Lex session attributes, Rasa slots). */
  readonly sessionParameters: Readonly<Record<string, unknown>>;
  readonly stage: FulfillmentStage;
  readonly confirmation: ConfirmationState;
  readonly queryText?: string;
  /** BCP-47 language tag of the user's turn, e.g. `en` or `de-DE`. */
  readonly languageCode: string;
  readonly caller: Caller;
  /** When the platform stops waiting; handlers should finish before it. */
  readonly deadline: Date;
  /**
   * Aborted when nobody will use the result any more: at the deadline when a late result cannot be kept,
   * otherwise LATE_WORK_TIMEOUT_MS after it (the late result is kept for a later turn meanwhile). Pass it to
   * queries (`DatabasePool.query`) and outbound calls so abandoned work stops.
   */
  readonly signal: AbortSignal;
  /**
   * Platform inputs with no platform-neutral equivalent that a handler may act on, under the platform's own
   * names: Lex V2's `runtimeHints` and `proposedNextState` (what Lex would do next had the function not
   * answered). Absent when the platform sent none.
   */
  readonly platformDetails?: Readonly<Record<string, unknown>>;
  /** The platform's original payload, for handlers that need a platform-specific field. */
  readonly raw: unknown;
}
