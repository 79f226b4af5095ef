import { createHash } from 'node:crypto';
import { LOCAL_DEV_AUTH } from './dialogflow-es.fixtures';
import { type RawResponse, sendRaw } from './raw-http';
import { queryTestDatabase } from './test-database';

/** The local development caller (no CALLERS_FILE) that LOCAL_DEV_AUTH authenticates. */
export const LOCAL_DEV_CALLER = 'local-dev';

/**
 * The caller-scoped key the service derives for a generic turn and stores with its writes (transfers, claims),
 * derived here independently of src/fulfillment/idempotency-key.ts so that a test checks it.
 */
export function genericTurnKey(requestId: string, callerId = LOCAL_DEV_CALLER): string {
  return createHash('sha256').update(`${callerId}\ngeneric\n${requestId}`, 'utf8').digest('hex');
}

/** POSTs one turn to the generic webhook as the local development caller, over a fresh connection. */
export function sendGenericTurn(baseUrl: string, body: Record<string, unknown>): Promise<RawResponse> {
  return sendRaw(baseUrl, '/v1/webhooks/generic', {
    headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
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

/** A demo customer's checking and savings balances in minor units, read straight from the database. */
export async function accountBalances(
  databaseUrl: string,
  customer: string,
): Promise<{ checking: bigint; savings: bigint }> {
  const rows = await queryTestDatabase<{ account_type: string; balance_minor: string }>(
    databaseUrl,
    `SELECT a.account_type, a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
      WHERE c.customer_number = $1`,
    [customer],
  );
  const of = (type: string): bigint => BigInt(rows.find((row) => row.account_type === type)?.balance_minor ?? -1);
  return { checking: of('checking'), savings: of('savings') };
}

/** How many transfers each generic turn (by request id, local development caller) wrote: 0 or 1, never more. */
export async function transferCounts(databaseUrl: string, requestIds: string[]): Promise<number[]> {
  const rows = await queryTestDatabase<{ idempotency_key: string; n: string }>(
    databaseUrl,
    'SELECT idempotency_key, count(*) AS n FROM transfers WHERE idempotency_key = ANY($1) GROUP BY idempotency_key',
    [requestIds.map((id) => genericTurnKey(id))],
  );
  return requestIds.map((id) => Number(rows.find((row) => row.idempotency_key === genericTurnKey(id))?.n ?? 0));
}
