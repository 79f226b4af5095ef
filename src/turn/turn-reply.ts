/** A reply in the platform's own format, serialised once (the bytes that are sent, stored and replayed). */
export interface TurnReply {
  readonly status: number;
  readonly json: string;
  /** The stored reply of an earlier delivery of the same turn. */
  readonly replayed: boolean;
}

/** A rendered reply as the turn pipeline receives it from the adapter. */
export type RenderedReply = Omit<TurnReply, 'replayed'>;
