/** A reply in the platform's own format, serialised once (the bytes that are sent, stored and replayed). */
export interface TurnReply {
  readonly status: number;
  readonly json: string;
  /** The stored reply of an earlier delivery of the same turn. */
  readonly replayed: boolean;
}

/** A rendered reply as the turn pipeline receives it from the adapter. */
export type RenderedReply = Omit<TurnReply, 'replayed'>;

/**
 * This delivery's own reply (not one stored by an earlier delivery). Field by field: replies made alike share a
 * hidden class (see `withProperties`).
 */
export function ownReply({ status, json }: RenderedReply): TurnReply {
  return { status, json, replayed: false };
}
