import { Injectable, Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { type RawResponse, sendRaw } from './support/raw-http';
import { startTestApp, TestApp } from './support/test-app';

const PATH = '/v1/webhooks/generic';

@IntentHandler('TestKeyedBooking', { changesState: true })
@Injectable()
class BookingHandler implements FulfillmentHandler {
  readonly runs: string[] = [];

  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    this.runs.push(request.requestId);
    return Promise.resolve({ text: `booked ${this.runs.length}` });
  }
}

@IntentHandler('TestKeyedLookup')
@Injectable()
class LookupHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'looked up' });
  }
}

@Module({ providers: [BookingHandler, LookupHandler] })
class KeyedHandlersModule {}

const body = (intent: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ sessionId: `key-${randomUUID()}`, intent, ...extra });

describe('Idempotency-Key header on the generic webhook (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let booking: BookingHandler;

  beforeAll(async () => {
    t = await startTestApp({ imports: [KeyedHandlersModule] });
    booking = t.app.get(BookingHandler);
  });
  afterAll(() => t.close());

  const send = (payload: string, key?: string | string[]): Promise<RawResponse> =>
    sendRaw(t.baseUrl, PATH, {
      headers: {
        ...LOCAL_DEV_AUTH,
        'content-type': 'application/json',
        ...(key !== undefined && { 'Idempotency-Key': key }),
      },
      body: payload,
    });

  function expectRefused(response: RawResponse, status: number, error: string): void {
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      statusCode: status,
      error,
      message: expect.stringContaining('Idempotency-Key'),
      details: [{ field: 'Idempotency-Key', problem: expect.any(String) }],
      requestId: expect.any(String),
    });
  }

  describe('syntax (rule 4)', () => {
    it('takes a structured-field string, unquoted, as the turn id', async () => {
      const response = await send(body('TestKeyedLookup'), '"8e03978e-40d5-43e8-bc93-6894a57f9324"');
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ requestId: '8e03978e-40d5-43e8-bc93-6894a57f9324' });
    });

    it('unescapes \\" and \\\\ inside the string', async () => {
      const response = await send(body('TestKeyedLookup'), '"order \\"42\\" \\\\ eu"');
      expect(response.json()).toMatchObject({ requestId: 'order "42" \\ eu' });
    });

    it('still takes the bare form existing clients send', async () => {
      const response = await send(body('TestKeyedLookup'), 'order-2026-0042');
      expect(response.json()).toMatchObject({ requestId: 'order-2026-0042' });
    });

    it('treats the quoted and bare spellings of one key as the same key', async () => {
      const payload = body('TestKeyedBooking');
      const key = `k-${randomUUID()}`;
      const first = await send(payload, `"${key}"`);
      const again = await send(payload, key);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.text).toBe(first.text);
    });

    it.each([
      ['an unterminated string', '"abc'],
      ['a string with parameters', '"abc";v=1'],
      ['an unknown escape', '"a\\qb"'],
      ['a key over 255 characters', `"${'k'.repeat(256)}"`],
      ['an empty string', '""'],
      ['a bare value with spaces', 'two words'],
    ])('refuses %s with 400 VALIDATION_FAILED naming the header', async (_label, key) => {
      expectRefused(await send(body('TestKeyedLookup'), key), 400, 'VALIDATION_FAILED');
    });

    it('refuses an unusable header even when the body has a requestId', async () => {
      expectRefused(await send(body('TestKeyedLookup', { requestId: 'r-1' }), '"abc'), 400, 'VALIDATION_FAILED');
    });
  });

  describe('one key only (rule 5)', () => {
    it('refuses two Idempotency-Key headers with 400', async () => {
      const response = await send(body('TestKeyedLookup'), ['"a"', '"b"']);
      expectRefused(response, 400, 'MALFORMED_REQUEST');
      expect(response.json().message).toBe('The request has more than one Idempotency-Key header.');
    });

    it('refuses the same key sent twice with 400', async () => {
      expectRefused(await send(body('TestKeyedLookup'), ['"a"', '"a"']), 400, 'MALFORMED_REQUEST');
    });

    it.each([
      ['an sf-list', '"a", "b"'],
      ['a bare comma-joined list', 'a,b'],
    ])('refuses %s in one header with 400', async (_label, key) => {
      expectRefused(await send(body('TestKeyedLookup'), key), 400, 'MALFORMED_REQUEST');
    });

    it('runs no handler for a refused key', async () => {
      const before = booking.runs.length;
      await send(body('TestKeyedBooking'), ['"a"', '"b"']);
      expect(booking.runs).toHaveLength(before);
    });
  });

  describe('state-changing turns need a key (rule 6)', () => {
    it('refuses a state-changing turn with neither a key nor a body requestId, and runs nothing', async () => {
      const before = booking.runs.length;
      const response = await send(body('TestKeyedBooking'));
      expectRefused(response, 400, 'VALIDATION_FAILED');
      expect(response.json<{ details: { problem: string }[] }>().details[0].problem).toContain('TestKeyedBooking');
      expect(booking.runs).toHaveLength(before);
    });

    it('runs it once with a key, and replays it for a retry with the same key', async () => {
      const payload = body('TestKeyedBooking');
      const key = `"${randomUUID()}"`;
      const first = await send(payload, key);
      const retry = await send(payload, key);
      expect(first.status).toBe(200);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.text).toBe(first.text);
    });

    it('runs it with a body requestId and no header', async () => {
      const response = await send(body('TestKeyedBooking', { requestId: randomUUID() }));
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ outcome: 'fulfilled' });
    });

    it('keeps read-only intents working without any key', async () => {
      const response = await send(body('TestKeyedLookup'));
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ outcome: 'fulfilled', text: 'looked up' });
    });

    it('keeps unknown intents answered (no handler, so nothing changes state)', async () => {
      const response = await send(body('NoSuchIntent'));
      expect(response.status).toBe(200);
    });
  });
});
