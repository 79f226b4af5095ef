import type { Platform } from '../common/platform';

/** One turn as the simulator asks for it: what the platform's NLU would have matched and collected. */
export interface SimulatedTurn {
  readonly platform: Platform;
  readonly intent: string;
  /** Parameters of this turn merged with those remembered from earlier turns of the session. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly sessionParameters: Readonly<Record<string, unknown>>;
  /** Dialogflow ES contexts carried from the previous answer (full names). */
  readonly esContexts: readonly unknown[];
  readonly sessionId: string;
  readonly languageCode: string;
  readonly text: string;
  readonly confirmation?: 'yes' | 'no';
  readonly stage: 'dialog' | 'fulfillment';
}

/** What the platform keeps between turns, read from our answer. */
export interface RememberedState {
  readonly sessionParameters: Record<string, unknown>;
  readonly esContexts: unknown[];
  /** Values our answer reset (`null`): the platform no longer has them, whatever an earlier turn said. */
  readonly cleared?: readonly string[];
}

/**
 * The platform side of a webhook call, for `npm run simulate`: the request the platform itself would send for a
 * turn, and what it would take from our answer. It lives beside the adapter, which reads the same format.
 */
export interface PlatformSimulation {
  /** The webhook route, e.g. `/v1/webhooks/dialogflow-es`. */
  readonly path: string;
  request(turn: SimulatedTurn): Record<string, unknown>;
  /** `previousContexts`: the Dialogflow ES contexts the turn was sent with. */
  remember(
    body: Record<string, unknown>,
    previous: Readonly<Record<string, unknown>>,
    previousContexts?: readonly unknown[],
  ): RememberedState;
  /** What the bot would say, from our answer. */
  replyText(body: Record<string, unknown>): string;
}

/** Session parameters after applying updates (`null` removes one), and the names removed. */
export function mergeSessionParameters(
  previous: Readonly<Record<string, unknown>>,
  updates: Readonly<Record<string, unknown>> | undefined,
): { sessionParameters: Record<string, unknown>; cleared: string[] } {
  const next: Record<string, unknown> = { ...previous };
  const cleared: string[] = [];
  for (const [key, value] of Object.entries(updates ?? {})) {
    if (value === null) {
      delete next[key];
      cleared.push(key);
    } else next[key] = value;
  }
  return { sessionParameters: next, cleared };
}

/** The parameters with the confirmation answer, as platforms that have no confirmation state send it. */
export function withConfirmation(turn: SimulatedTurn): Readonly<Record<string, string>> {
  return turn.confirmation ? { ...turn.parameters, confirmation: turn.confirmation } : turn.parameters;
}

/** Every text and content string of a response, for platforms whose messages are nested. */
export function textsOf(body: Record<string, unknown>): string {
  return [...JSON.stringify(body).matchAll(/"(?:text|content)":\s*(?:\{"text":\s*\[)?"((?:[^"\\]|\\.)*)"/g)]
    .map((match) => match[1])
    .join(' | ');
}
