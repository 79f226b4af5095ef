import { AppError } from '../common/errors/app-error';
import type { GenericWebhookResponse } from '../platforms/generic/generic.response';
import { asFulfillRequestError, protoFieldName, toFulfillResponse, toGenericBody } from './fulfill.mapping';
import { fromStruct, toStruct } from './struct';

describe('toGenericBody', () => {
  it('maps every field of a FulfillRequest to the generic body', () => {
    expect(
      toGenericBody(
        {
          requestId: 'r-1',
          sessionId: 's-1',
          intent: 'TransferFunds',
          parameters: toStruct({ amount: 10, to: 'savings' }),
          contexts: [{ name: 'c', lifespan: 2, parameters: toStruct({ a: [1] }) }, { name: 'd' }],
          sessionParameters: toStruct({ visits: 2 }),
          stage: 'STAGE_DIALOG',
          confirmation: 'CONFIRMATION_DENIED',
          text: 'move ten',
          languageCode: 'de-DE',
        },
        64,
      ),
    ).toEqual({
      requestId: 'r-1',
      sessionId: 's-1',
      intent: 'TransferFunds',
      parameters: { amount: 10, to: 'savings' },
      contexts: [{ name: 'c', lifespan: 2, parameters: { a: [1] } }, { name: 'd' }],
      sessionParameters: { visits: 2 },
      stage: 'dialog',
      confirmation: 'denied',
      text: 'move ten',
      languageCode: 'de-DE',
    });
  });

  it('leaves out what proto3 cannot tell from unset (empty strings, unspecified enums)', () => {
    expect(
      toGenericBody(
        {
          requestId: '',
          sessionId: 's',
          intent: 'i',
          stage: 'STAGE_UNSPECIFIED',
          confirmation: 'CONFIRMATION_UNSPECIFIED',
        },
        64,
      ),
    ).toEqual({ sessionId: 's', intent: 'i' });
    expect(toGenericBody({ stage: 'STAGE_FULFILLMENT', confirmation: 'CONFIRMATION_CONFIRMED' }, 64)).toEqual({
      stage: 'fulfillment',
      confirmation: 'confirmed',
    });
  });

  it('passes an enum value it does not know on, for validation to refuse', () => {
    expect(toGenericBody({ stage: 9 }, 64)).toEqual({ stage: 9 });
  });

  it('applies the JSON depth limit counting the request as the first level', () => {
    const parameters = toStruct({ a: { b: 1 } }); // levels 2 and 3
    expect(toGenericBody({ parameters }, 3).parameters).toEqual({ a: { b: 1 } });
    expect(() => toGenericBody({ parameters }, 2)).toThrow(AppError);
    // request, contexts, one context, its parameters: four levels.
    const contexts = [{ name: 'c', parameters: toStruct({ x: 1 }) }];
    expect(toGenericBody({ contexts }, 4).contexts).toEqual([{ name: 'c', parameters: { x: 1 } }]);
    expect(() => toGenericBody({ contexts }, 3)).toThrow(AppError);
  });
});

describe('asFulfillRequestError', () => {
  it("renames the generic request's fields to FulfillRequest's", () => {
    const error = asFulfillRequestError(
      new AppError('VALIDATION_FAILED', 'Generic webhook request is invalid: sessionId, contexts.0.name.', [
        { field: 'sessionId', problem: 'is required' },
        { field: 'contexts.0.name', problem: 'should not be empty' },
        { field: 'sessionId', problem: 'must be a string' },
      ]),
    );
    expect(error.message).toBe('FulfillRequest is invalid: session_id, contexts.0.name.');
    expect(error.details.map((detail) => detail.field)).toEqual(['session_id', 'contexts.0.name', 'session_id']);
  });

  it('names the idempotency-key metadata and leaves other errors alone', () => {
    expect(protoFieldName('Idempotency-Key')).toBe('idempotency-key');
    expect(protoFieldName('languageCode')).toBe('language_code');
    const other = new AppError('FORBIDDEN', 'no');
    expect(asFulfillRequestError(other)).toBe(other);
  });
});

describe('toFulfillResponse', () => {
  it('carries every field of the generic response over', () => {
    const generic: Required<GenericWebhookResponse> = {
      requestId: 'r',
      outcome: 'timed-out',
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
      contexts: [{ name: 'ctx', lifespan: 0, parameters: { a: 1 } }],
      sessionParameters: { visits: 1, obsolete: null },
      elicit: { parameter: 'date', invalid: true },
      confirm: true,
      handoff: { reason: 'human' },
      delegate: false,
      failed: false,
      endConversation: true,
      followupEvent: { name: 'NEXT', parameters: { step: 2 }, languageCode: 'en' },
      payload: { custom: true },
      transition: { page: 'Confirm' },
      source: 'core',
    };
    const response = toFulfillResponse(generic, true);
    expect(response).toMatchObject({
      requestId: 'r',
      outcome: 'OUTCOME_TIMED_OUT',
      text: 'main',
      elicit: { parameter: 'date', invalid: true },
      confirm: true,
      handoff: { reason: 'human' },
      delegate: false,
      failed: false,
      endConversation: true,
      transition: { page: 'Confirm' },
      source: 'core',
      replayed: true,
    });
    expect(response.messages).toEqual([
      { text: { text: 'hello' } },
      { quickReplies: { title: 'Pick', replies: ['a'] } },
      { card: { title: 'C', subtitle: 'S', imageUrl: 'https://x/i.png', buttons: [{ text: 'Go', postback: 'p' }] } },
      { image: { imageUrl: 'https://x/j.png', accessibilityText: 'J' } },
      { payload: toStruct({ k: 'v' }) },
    ]);
    expect(fromStruct(response.sessionParameters, 'p', 64)).toEqual({ visits: 1, obsolete: null });
    expect(fromStruct(response.contexts?.[0].parameters, 'p', 64)).toEqual({ a: 1 });
    expect(fromStruct(response.followupEvent?.parameters, 'p', 64)).toEqual({ step: 2 });
    expect(fromStruct(response.payload, 'p', 64)).toEqual({ custom: true });
  });

  it('leaves optional fields unset when the result has none', () => {
    const response = toFulfillResponse({ requestId: 'r', outcome: 'fallback', text: 'Sorry', messages: [] }, false);
    expect(Object.entries(response).filter(([, value]) => value !== undefined)).toEqual([
      ['requestId', 'r'],
      ['outcome', 'OUTCOME_FALLBACK'],
      ['text', 'Sorry'],
      ['messages', []],
      ['replayed', false],
    ]);
  });
});
