/** A reply in the platform's own format, serialised once (the bytes that are sent, stored and replayed). */
export interface TurnReply {
  readonly status: number;
  readonly json: string;
  /** The stored reply of an earlier delivery of the same turn. */
  readonly replayed: boolean;
  /**
   * The rendered response before serialisation, when this delivery rendered it (a replay has only the stored
   * bytes): a transport with its own message types (gRPC Fulfill) maps it without parsing `json` back.
   */
  readonly body?: unknown;
}

/** A rendered reply as the turn pipeline receives it from the adapter. */
export type RenderedReply = Omit<TurnReply, 'replayed'>;
