/**
 * What a signed message id means when it arrives: `accepted` — new in the window, or a redelivery of the same
 * bytes (a sender's retry, or the same request again), which the turn's idempotency store answers; `conflict` —
 * the id was already used in the window for another body.
 */
export type ReplayVerdict = 'accepted' | 'conflict';

/**
 * Remembers signed message ids with a digest of the body they were signed over, so a captured id cannot be
 * reused for another message within the signature window, while retries of the same message go through.
 */
export abstract class ReplayStore {
  /**
   * Records the id with `bodyDigest` (hex SHA-256 of the raw body) for `windowSeconds`; a redelivery of the same
   * body extends the window to its own, a conflicting one leaves the entry as it was.
   */
  abstract remember(
    callerId: string,
    messageId: string,
    bodyDigest: string,
    windowSeconds: number,
  ): Promise<ReplayVerdict>;
}
