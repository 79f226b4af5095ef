import { createHash } from 'node:crypto';

/** The local development caller (no CALLERS_FILE) that LOCAL_DEV_AUTH authenticates. */
export const LOCAL_DEV_CALLER = 'local-dev';

/**
 * The caller-scoped key the service derives for a generic turn and stores with its writes (transfers, claims),
 * derived here independently of src/fulfillment/idempotency-key.ts so that a test checks it.
 */
export function genericTurnKey(requestId: string, callerId = LOCAL_DEV_CALLER): string {
  return createHash('sha256').update(`${callerId}\ngeneric\n${requestId}`, 'utf8').digest('hex');
}

/** A confirmed TransferFunds turn in the generic format: `amountMinor` cents from checking to savings. */
export function transferTurnBody(requestId: string, customer: string, amountMinor: bigint): Record<string, unknown> {
  return {
    requestId,
    sessionId: `session-${requestId}`,
    intent: 'TransferFunds',
    stage: 'fulfillment',
    confirmation: 'confirmed',
    parameters: {
      user_id: customer,
      from_account: 'checking',
      to_account: 'savings',
      amount: Number(amountMinor) / 100,
    },
  };
}
