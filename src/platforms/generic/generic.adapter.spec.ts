import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import { AppError } from '../../common/errors/app-error';
import type { FulfillmentResult } from '../../fulfillment';
import { checkResponse, renderResponse, resolveRequestId, toDispatchInput } from './generic.adapter';
import { GenericWebhookRequest } from './generic.request';
import { GENERIC_MAX_RESPONSE_BYTES, GenericWebhookResponse } from './generic.response';
import type { Caller } from '../../common/caller';

const CALLER: Caller = { id: 'bot', platforms: ['generic'] };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function request(extra: Record<string, unknown> = {}): GenericWebhookRequest {
  return plainToInstance(GenericWebhookRequest, { sessionId: 's-1', intent: 'GetAccountBalance', ...extra });
}

describe('resolveRequestId', () => {
  it('prefers the body requestId', () => {
    expect(resolveRequestId(request({ requestId: 'body' }), 'header')).toBe('body');
  });

  it('falls back to the Idempotency-Key header, quoted or bare', () => {
    expect(resolveRequestId(request(), 'key-1')).toBe('key-1');
    expect(resolveRequestId(request({ requestId: null }), '"key with inner spaces"')).toBe('key with inner spaces');
  });

  it('falls back to the signed webhook-id after the header', () => {
    expect(resolveRequestId(request(), undefined, { webhookId: 'msg_1' })).toBe('msg_1');
    expect(resolveRequestId(request(), '"key-1"', { webhookId: 'msg_1' })).toBe('key-1');
  });

  it('generates a UUID when neither is given', () => {
    expect(resolveRequestId(request(), undefined)).toMatch(UUID);
  });

  it('refuses a state-changing turn without any key, naming the header', () => {
    let thrown: unknown;
    try {
      resolveRequestId(request({ intent: 'TransferFunds' }), undefined, { changesState: true });
    } catch (error: unknown) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe('VALIDATION_FAILED');
    expect((thrown as AppError).details).toEqual([
      { field: 'Idempotency-Key', problem: expect.stringContaining('TransferFunds') },
    ]);
  });

  it('refuses a turn queued as a job without any key (a retry would queue it again), saying why', () => {
    expect(() => resolveRequestId(request({ intent: 'RequestReport' }), undefined, { queued: true })).toThrow(
      expect.objectContaining({
        details: [
          {
            field: 'Idempotency-Key',
            problem: 'is required for intent "RequestReport", which runs as a job (or send requestId in the body)',
          },
        ],
      }),
    );
    expect(resolveRequestId(request(), '"k"', { queued: true })).toBe('k');
  });

  it('lets a state-changing turn through with a body requestId, a header or a webhook-id', () => {
    const changesState = true;
    expect(resolveRequestId(request({ requestId: 'r' }), undefined, { changesState })).toBe('r');
    expect(resolveRequestId(request(), '"k"', { changesState })).toBe('k');
    expect(resolveRequestId(request(), undefined, { changesState, webhookId: 'msg_1' })).toBe('msg_1');
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['non-ASCII', 'clé'],
    ['quoted with a leading space', '" key"'],
    ['a control character', 'a\u0001b'],
  ])('rejects a %s header, naming it', (_label, key) => {
    expect(() => resolveRequestId(request(), key)).toThrow(AppError);
    try {
      resolveRequestId(request(), key);
    } catch (error) {
      expect((error as AppError).code).toBe('VALIDATION_FAILED');
      expect((error as AppError).details.map((d) => d.field)).toEqual(['Idempotency-Key']);
    }
  });

  it('refuses, for a signed request of a state-changing intent, a header key the signature does not cover', () => {
    const signed = { changesState: true, bodySigned: true };
    // A signature header (no message id): the header alone cannot name the turn.
    expect(() => resolveRequestId(request({ requestId: null }), '"k-1"', signed)).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        details: [expect.objectContaining({ field: 'Idempotency-Key' })],
      }),
    );
    // Standard Webhooks: the webhook-id is signed; a header naming another turn is refused, the same one is not.
    expect(() => resolveRequestId(request({ requestId: null }), '"k-2"', { ...signed, webhookId: 'msg_1' })).toThrow(
      AppError,
    );
    expect(resolveRequestId(request({ requestId: null }), '"msg_1"', { ...signed, webhookId: 'msg_1' })).toBe('msg_1');
    expect(resolveRequestId(request({ requestId: null }), undefined, { ...signed, webhookId: 'msg_1' })).toBe('msg_1');
    // The body is signed: its requestId names the turn whatever the header says.
    expect(resolveRequestId(request({ requestId: 'r' }), '"k-3"', signed)).toBe('r');
    // Read-only intents, and requests not signed over the body, keep the header.
    expect(resolveRequestId(request({ requestId: null }), '"k-4"', { bodySigned: true })).toBe('k-4');
    expect(resolveRequestId(request({ requestId: null }), '"k-5"', { changesState: true })).toBe('k-5');
  });

  it('rejects an unusable header even when the body has a requestId', () => {
    expect(() => resolveRequestId(request({ requestId: 'body' }), '"unterminated')).toThrow(AppError);
  });

  it('rejects a header sent as a list', () => {
    expect(() => resolveRequestId(request(), ['a', 'b'])).toThrow(AppError);
  });

  it('accepts a 255-character key', () => {
    expect(resolveRequestId(request(), 'k'.repeat(255))).toHaveLength(255);
  });
});

describe('toDispatchInput', () => {
  it('maps a full request to the platform-neutral model', () => {
    const body = request({
      parameters: { user_id: '12345' },
      sessionParameters: { visits: 2 },
      languageCode: 'de-DE',
      text: 'Kontostand?',
      stage: 'dialog',
      confirmation: 'confirmed',
      contexts: [{ name: 'a', lifespan: 2, parameters: { x: 1 } }, { name: 'b' }],
    });
    expect(toDispatchInput(body, CALLER, 'r-1')).toEqual({
      platform: 'generic',
      requestId: 'r-1',
      sessionId: 's-1',
      intent: 'GetAccountBalance',
      parameters: { user_id: '12345' },
      contexts: [
        { name: 'a', lifespan: 2, parameters: { x: 1 } },
        { name: 'b', lifespan: undefined, parameters: {} },
      ],
      sessionParameters: { visits: 2 },
      stage: 'dialog',
      confirmation: 'confirmed',
      queryText: 'Kontostand?',
      languageCode: 'de-DE',
      caller: CALLER,
      raw: body,
    });
  });

  it('applies the defaults (also for nulls)', () => {
    const input = toDispatchInput(
      request({ parameters: null, languageCode: null, stage: null, confirmation: null }),
      CALLER,
      'r',
    );
    expect(input).toMatchObject({
      parameters: {},
      contexts: [],
      sessionParameters: {},
      stage: 'fulfillment',
      confirmation: 'none',
      languageCode: 'en',
      queryText: undefined,
    });
  });
});

describe('renderResponse', () => {
  it('renders a bare result with one text message', () => {
    expect(renderResponse({ text: 'Hi' }, 'fulfilled', 'r')).toStrictEqual({
      requestId: 'r',
      outcome: 'fulfilled',
      text: 'Hi',
      messages: [{ type: 'text', text: 'Hi' }],
    });
  });

  it('renders no message for an empty text and keeps given messages as they are', () => {
    expect(renderResponse({ text: '', delegate: true }, 'delegated', 'r').messages).toEqual([]);
    expect(renderResponse({ text: 'x', messages: [] }, 'fulfilled', 'r').messages).toEqual([]);
  });

  it('keeps every field of the result', () => {
    const result: Required<FulfillmentResult> = {
      text: 'main',
      messages: [
        { type: 'text', text: 'hello' },
        { type: 'quick-replies', title: 'Pick', replies: ['a'] },
        {
          type: 'card',
          title: 'C',
          subtitle: 'S',
          imageUrl: 'https://x/i.png',
          buttons: [{ text: 'Go', postback: 'p' }],
        },
        { type: 'image', imageUrl: 'https://x/j.png', accessibilityText: 'J' },
        { type: 'payload', payload: { k: 'v' } },
      ],
      contexts: [
        { name: 'ctx', lifespan: 2, parameters: { a: 1 } },
        { name: 'gone', lifespan: 0 },
      ],
      followupEvent: { name: 'NEXT', parameters: { step: 2 }, languageCode: 'en' },
      payload: { custom: true },
      source: 'core',
      endConversation: true,
      sessionParameters: { visits: 1, obsolete: null },
      elicit: { parameter: 'date', invalid: true },
      confirm: true,
      handoff: { reason: 'human' },
      delegate: false,
      failed: false,
      transition: { page: 'Confirm' },
    };
    const response = renderResponse(result, 'fulfilled', 'r-9');
    const { text, messages, ...rest } = result;
    expect(response).toStrictEqual({ requestId: 'r-9', outcome: 'fulfilled', text, messages, ...rest });
    // Nothing is shared with the handler's result.
    expect(response.messages).not.toBe(result.messages);
    expect(response.payload).not.toBe(result.payload);
    expect(response.sessionParameters).not.toBe(result.sessionParameters);
    expect(response.followupEvent?.parameters).not.toBe(result.followupEvent.parameters);
    // A context without parameters stays without them.
    expect(response.contexts?.[1]).toStrictEqual({ name: 'gone', lifespan: 0 });
  });

  it('leaves absent optional fields out of the JSON', () => {
    const json = JSON.parse(JSON.stringify(renderResponse({ text: 'x' }, 'fallback', 'r')));
    expect(Object.keys(json)).toEqual(['requestId', 'outcome', 'text', 'messages']);
  });
});

describe('checkResponse', () => {
  const response = (text: string): GenericWebhookResponse => ({
    requestId: 'r',
    outcome: 'fulfilled',
    text,
    messages: [],
  });

  it('is 256 KiB', () => {
    expect(GENERIC_MAX_RESPONSE_BYTES).toBe(262_144);
  });

  it('accepts exactly the limit and rejects one byte more, counting bytes', () => {
    const overhead = JSON.stringify(response('')).length;
    const exact = checkResponse(response('x'.repeat(GENERIC_MAX_RESPONSE_BYTES - overhead)));
    expect(exact.problems).toEqual([]);
    expect(Buffer.byteLength(exact.json)).toBe(GENERIC_MAX_RESPONSE_BYTES);
    expect(checkResponse(response('x'.repeat(GENERIC_MAX_RESPONSE_BYTES - overhead + 1))).problems).toEqual([
      `response is ${GENERIC_MAX_RESPONSE_BYTES + 1} bytes, over the 262144-byte limit`,
    ]);
    const euros = checkResponse(response('€'.repeat(90_000)));
    expect(euros.json.length).toBeLessThan(GENERIC_MAX_RESPONSE_BYTES);
    expect(euros.problems).toHaveLength(1);
  });

  it('reports a response that cannot be serialised', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(checkResponse({ ...response('x'), payload: cyclic }).problems).toEqual([
      'response is not serialisable to JSON',
    ]);
    expect(checkResponse({ ...response('x'), payload: { n: 1n } }).problems).toHaveLength(1);
  });
});
