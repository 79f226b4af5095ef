import {
  dialogflowCxRequestErrors,
  dialogflowCxResponseErrors,
  dialogflowEsRequestErrors,
  dialogflowEsResponseErrors,
  lexV2ResponseErrors,
  rasaActionResponseErrors,
} from './platform-response-schemas';

/** The checkers must reject what the platforms reject, or the corpus test proves nothing. */
describe('platform response schemas', () => {
  describe('Dialogflow ES (google.cloud.dialogflow.v2.WebhookResponse)', () => {
    const good = {
      fulfillmentText: 'Your balance is $1.00.',
      fulfillmentMessages: [
        { text: { text: ['Your balance is $1.00.'] } },
        { quickReplies: { quickReplies: ['Yes'] } },
      ],
      outputContexts: [
        {
          name: 'projects/p/agent/sessions/s/contexts/account',
          lifespanCount: 5,
          parameters: { any: [1, { json: null }] },
        },
      ],
      followupEventInput: { name: 'NEXT', languageCode: 'en', parameters: { step: 2 } },
      payload: { google: { expectUserResponse: true } },
    };

    it('accepts a right response, with any JSON in Struct fields', () => {
      expect(dialogflowEsResponseErrors(good)).toEqual([]);
      expect(dialogflowEsResponseErrors({})).toEqual([]);
    });

    it('accepts the proto field names as well as the JSON names', () => {
      expect(dialogflowEsResponseErrors({ fulfillment_text: 'hi' })).toEqual([]);
    });

    it('rejects an unknown field, at the top and nested', () => {
      expect(dialogflowEsResponseErrors({ ...good, fulfillmentTxt: 'typo' })).toEqual([
        'WebhookResponse.fulfillmentTxt: unknown field of .google.cloud.dialogflow.v2.WebhookResponse',
      ]);
      expect(dialogflowEsResponseErrors({ fulfillmentMessages: [{ text: { txt: ['x'] } }] })).toHaveLength(1);
    });

    it('rejects wrong types', () => {
      expect(dialogflowEsResponseErrors({ fulfillmentText: 42 })).toEqual([
        'WebhookResponse.fulfillmentText: expected a string, got number 42',
      ]);
      expect(dialogflowEsResponseErrors({ outputContexts: { name: 'x' } })[0]).toMatch(/expected a JSON array/);
      expect(dialogflowEsResponseErrors({ outputContexts: [{ name: 'x', lifespanCount: 1.5 }] })[0]).toMatch(
        /expected int32/,
      );
      expect(dialogflowEsResponseErrors({ payload: 'not an object' })[0]).toMatch(/Struct/);
      expect(dialogflowEsResponseErrors({ fulfillmentMessages: [{ platform: 'MYSPACE' }] })[0]).toMatch(
        /not a value of/,
      );
    });

    it('rejects two members of one oneof', () => {
      expect(
        dialogflowEsResponseErrors({ fulfillmentMessages: [{ text: { text: ['a'] }, image: { imageUri: 'x' } }] }),
      ).toEqual([expect.stringMatching(/oneof message has more than one field set/)]);
    });

    it('reads requests against v2beta1 (knowledge connector fields)', () => {
      const request = {
        responseId: 'r',
        session: 'projects/p/agent/sessions/s',
        queryResult: { queryText: 'q', knowledgeAnswers: { answers: [{ answer: 'a', matchConfidenceLevel: 'HIGH' }] } },
        alternativeQueryResults: [{ queryText: 'q' }],
        originalDetectIntentRequest: { source: 'GOOGLE_TELEPHONY', payload: { telephony: { caller_id: '+1' } } },
      };
      expect(dialogflowEsRequestErrors(request)).toEqual([]);
      expect(dialogflowEsRequestErrors({ ...request, queryResult: { intent: { displayName: 7 } } })).toHaveLength(1);
    });
  });

  describe('Dialogflow CX (google.cloud.dialogflow.cx.v3.WebhookResponse)', () => {
    const good = {
      fulfillmentResponse: { messages: [{ text: { text: ['Hello'] } }], mergeBehavior: 'REPLACE' },
      pageInfo: {
        formInfo: { parameterInfo: [{ displayName: 'date', required: true, state: 'INVALID', value: null }] },
      },
      sessionInfo: { parameters: { visits: 2, obsolete: null } },
      targetPage: 'projects/p/locations/global/agents/a/flows/f/pages/x',
    };

    it('accepts a right response', () => {
      expect(dialogflowCxResponseErrors(good)).toEqual([]);
    });

    it('rejects an unknown field, a wrong enum and a wrong type', () => {
      expect(dialogflowCxResponseErrors({ ...good, fulfillment_response: {} })[0]).toMatch(/given twice/);
      expect(dialogflowCxResponseErrors({ fulfillmentResponse: { messages: [], merge: 'APPEND' } })[0]).toMatch(
        /unknown field/,
      );
      expect(dialogflowCxResponseErrors({ fulfillmentResponse: { mergeBehavior: 'MERGE' } })[0]).toMatch(
        /not a value of/,
      );
      expect(
        dialogflowCxResponseErrors({
          pageInfo: { formInfo: { parameterInfo: [{ displayName: 'd', state: 'VALID' }] } },
        })[0],
      ).toMatch(/"VALID" is not a value of/);
      expect(
        dialogflowCxResponseErrors({ fulfillmentResponse: { messages: [{ text: { text: 'Hello' } }] } })[0],
      ).toMatch(/expected a JSON array/);
    });

    it('rejects both targetPage and targetFlow (one oneof)', () => {
      expect(
        dialogflowCxResponseErrors({ ...good, targetFlow: 'projects/p/locations/global/agents/a/flows/f' })[0],
      ).toMatch(/oneof transition/);
    });

    it('reads requests against v3 WebhookRequest', () => {
      expect(dialogflowCxRequestErrors({ dtmfDigits: '12', transcript: 'x' })[0]).toMatch(/oneof query/);
      expect(dialogflowCxRequestErrors({ text: 'hi', fulfillmentInfo: { tag: 'T' }, languageCode: 'en' })).toEqual([]);
    });
  });

  describe('Lex V2 Lambda response', () => {
    const good = {
      sessionState: {
        sessionAttributes: { tier: 'gold' },
        activeContexts: [
          {
            name: 'account_info',
            contextAttributes: { a: '1' },
            timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 5 },
          },
        ],
        dialogAction: { type: 'Close' },
        intent: { name: 'GetAccountBalance', slots: { a: null }, state: 'Fulfilled', confirmationState: 'None' },
      },
      messages: [{ contentType: 'PlainText', content: 'Done.' }],
    };

    it('accepts a right response', () => {
      expect(lexV2ResponseErrors(good)).toEqual([]);
    });

    it('rejects a wrong enum, a missing slotToElicit, a non-string attribute and an over-long message', () => {
      const with_ = (state: object, extra: object = {}) => ({
        ...good,
        ...extra,
        sessionState: { ...good.sessionState, ...state },
      });
      expect(lexV2ResponseErrors(with_({ dialogAction: { type: 'Finish' } }))[0]).toMatch(/not one of/);
      expect(lexV2ResponseErrors(with_({ dialogAction: { type: 'ElicitSlot' } }))[0]).toMatch(/slotToElicit/);
      expect(lexV2ResponseErrors(with_({ sessionAttributes: { n: 1 } }))[0]).toMatch(/must be strings/);
      expect(
        lexV2ResponseErrors(with_({}, { messages: [{ contentType: 'PlainText', content: 'x'.repeat(1025) }] }))[0],
      ).toMatch(/outside 1–1024/);
      expect(lexV2ResponseErrors(with_({ intent: { ...good.sessionState.intent, state: 'Done' } }))[0]).toMatch(
        /not one of/,
      );
      expect(lexV2ResponseErrors({ ...good, extra: true })[0]).toMatch(/not a documented field/);
      expect(lexV2ResponseErrors(with_({ dialogAction: { type: 'ConfirmIntent' } }, { messages: [] }))[0]).toMatch(
        /required/,
      );
    });

    it('rejects a response over 25 KB', () => {
      expect(lexV2ResponseErrors(good, 'x'.repeat(25 * 1024 + 1))[0]).toMatch(/exceeds 25 KB/);
    });
  });

  describe('Rasa action server response', () => {
    it('accepts a right response', () => {
      expect(
        rasaActionResponseErrors({
          events: [
            { event: 'slot', name: 'balance', value: '1.00', timestamp: null },
            { event: 'bot', text: 'hi' },
            { event: 'active_loop', name: null },
          ],
          responses: [{ text: 'Your balance is $1.00.' }],
        }),
      ).toEqual([]);
      expect(rasaActionResponseErrors({ events: [], responses: [] })).toEqual([]);
    });

    it('rejects an unknown event, a slot event without value, a wrong type and a non-object response', () => {
      expect(rasaActionResponseErrors({ events: [{ event: 'slot_set', name: 'a', value: 1 }] })[0]).toMatch(
        /not an event type/,
      );
      expect(rasaActionResponseErrors({ events: [{ event: 'slot', name: 'a' }] })[0]).toMatch(/required/);
      expect(rasaActionResponseErrors({ events: [{ event: 'slot', name: 1, value: 1 }] })[0]).toMatch(
        /expected string/,
      );
      expect(rasaActionResponseErrors({ events: [{ name: 'a' }] })[0]).toMatch(/event: required string/);
      expect(rasaActionResponseErrors({ responses: ['hi'] })[0]).toMatch(/expected an object/);
      expect(rasaActionResponseErrors({ events: {} })[0]).toMatch(/expected an array/);
    });
  });
});
