import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { callbackPayload } from './callback-deliveries';
import type { StoredFulfillment } from './fulfillment-record.entity';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

function finished(status: 'completed' | 'failed'): StoredFulfillment {
  return {
    id: 'f-1',
    callerId: 'bot',
    platform: 'generic',
    sessionId: 's-1',
    intent: 'ExportStatements',
    mode: 'async',
    status,
    result: status === 'completed' ? { text: 'Your statement is ready.' } : { text: 'Sorry.', failed: true },
    createdAt: new Date('2026-12-06T10:00:00Z'),
    completedAt: new Date('2026-12-06T10:00:05Z'),
  };
}

describe('callbackPayload', () => {
  it.each(['completed', 'failed'] as const)(
    'a %s fulfillment is sent with a type the README documents for receivers',
    (status) => {
      const { type, data } = JSON.parse(callbackPayload(finished(status))) as {
        type: string;
        data: { status: string };
      };
      expect(data.status).toBe(status);
      // A receiver built from the README that refuses an unknown type would send failures to the dead-letter state.
      expect(README).toContain(`"type":"${type}"`);
    },
  );
});
