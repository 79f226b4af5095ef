import 'reflect-metadata';

import { AppError } from '../../common/errors/app-error';
import { validateBody } from '../../common/validation/validate-body';
import { LexV2Event, slotsProblem } from './lex-v2.request';

function seed(): Record<string, unknown> {
  return {
    messageVersion: '1.0',
    invocationSource: 'DialogCodeHook',
    inputMode: 'Speech',
    responseContentType: 'audio/pcm',
    sessionId: 's-1',
    inputTranscript: 'hi',
    bot: { id: 'B', name: 'Bot', aliasId: 'A', aliasName: 'Alias', localeId: 'en_GB', version: '1' },
    interpretations: [{ intent: { name: 'Hello', slots: {} }, nluConfidence: 0.5 }],
    requestAttributes: { a: 'b' },
    sessionState: {
      activeContexts: [
        { name: 'c', contextAttributes: { k: 'v' }, timeToLive: { timeToLiveInSeconds: 5, turnsToLive: 1 } },
      ],
      sessionAttributes: { k: 'v' },
      intent: { name: 'Hello', slots: { s: null }, state: 'InProgress', confirmationState: 'None' },
    },
    transcriptions: [{ transcription: 'hi' }],
  };
}

function fields(body: Record<string, unknown>): string[] {
  try {
    validateBody(LexV2Event, body, 'Lex V2 event');
  } catch (error) {
    return (error as AppError).details.map((d) => d.field);
  }
  return [];
}

describe('LexV2Event', () => {
  it('accepts a documented event', () => {
    expect(fields(seed())).toEqual([]);
  });

  it.each<[string, (body: Record<string, unknown>) => void, string]>([
    ['an unknown invocationSource', (b) => (b.invocationSource = 'Other'), 'invocationSource'],
    ['an empty sessionId', (b) => (b.sessionId = ''), 'sessionId'],
    ['a missing bot', (b) => delete b.bot, 'bot'],
    ['a malformed localeId', (b) => ((b.bot as Record<string, unknown>).localeId = 'en-US'), 'bot.localeId'],
    ['a non-string request attribute', (b) => (b.requestAttributes = { a: 1 }), 'requestAttributes'],
    ['a missing sessionState', (b) => delete b.sessionState, 'sessionState'],
    [
      'an unknown intent state',
      (b) => ((b.sessionState as { intent: Record<string, unknown> }).intent.state = 'Done'),
      'sessionState.intent.state',
    ],
    [
      'a non-string session attribute',
      (b) => ((b.sessionState as Record<string, unknown>).sessionAttributes = { n: 1 }),
      'sessionState.sessionAttributes',
    ],
    [
      'a context without a name',
      (b) => ((b.sessionState as Record<string, unknown>).activeContexts = [{}]),
      'sessionState.activeContexts.0.name',
    ],
    [
      'a context name Lex would not give (letters and digits, each followed by at most one underscore or hyphen)',
      (b) => ((b.sessionState as Record<string, unknown>).activeContexts = [{ name: 'order--status' }]),
      'sessionState.activeContexts.0.name',
    ],
    [
      'a slot value longer than any text the service takes',
      (b) =>
        ((b.sessionState as { intent: Record<string, unknown> }).intent.slots = {
          a: { value: { interpretedValue: 'a', originalValue: 'x'.repeat(70_000) } },
        }),
      'sessionState.intent.slots',
    ],
  ])('rejects %s', (_label, mutate, field) => {
    const body = seed();
    mutate(body);
    expect(fields(body)).toContain(field);
  });

  it.each<[string, (body: Record<string, unknown>) => void]>([
    ['no messageVersion', (b) => delete b.messageVersion],
    ['an inputMode Lex may add later', (b) => (b.inputMode = 'Video')],
    ['a confidence over 1', (b) => (b.interpretations = [{ intent: { name: 'x' }, nluConfidence: 2 }])],
    [
      'nluConfidence as an object, as in older events',
      (b) => (b.interpretations = [{ intent: { name: 'x' }, nluConfidence: { score: 0.91 } }]),
    ],
    ['an interpretation without an intent', (b) => (b.interpretations = [{ interpretationSource: 'Bedrock' }])],
    ['transcriptions of another shape', (b) => (b.transcriptions = 'x')],
    ['a bot without id or name', (b) => (b.bot = { localeId: 'en_US' })],
    [
      'a session dialogAction of an unknown type',
      (b) => ((b.sessionState as Record<string, unknown>).dialogAction = { type: 'Wait', slotToElicit: 3 }),
    ],
    [
      'resolvedValues and originalValue of another shape',
      (b) =>
        ((b.sessionState as { intent: Record<string, unknown> }).intent.slots = {
          a: { value: { interpretedValue: 'a', originalValue: 1, resolvedValues: 'a' } },
        }),
    ],
  ])('tolerates %s: the service does not read it', (_label, mutate) => {
    const body = seed();
    mutate(body);
    expect(fields(body)).toEqual([]);
  });

  it.each(['order-fulfilled', 'step2', 'Order_Status-2', 'a'])('accepts an active context named %s', (name) => {
    const body = seed();
    (body.sessionState as Record<string, unknown>).activeContexts = [
      { name, contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 2 } },
    ];
    expect(fields(body)).toEqual([]);
  });
});

describe('slotsProblem', () => {
  const scalar = { shape: 'Scalar', value: { originalValue: 'a', interpretedValue: 'a', resolvedValues: ['a'] } };

  it('accepts null, scalar, list and composite slots', () => {
    expect(
      slotsProblem({
        a: null,
        b: scalar,
        c: { shape: 'List', value: { originalValue: 'a b' }, values: [scalar, scalar] },
        d: { shape: 'Composite', subSlots: { x: scalar, y: null } },
      }),
    ).toBeUndefined();
  });

  it.each<[unknown, string]>([
    [[], 'slots must be an object'],
    [{ a: 'x' }, 'slot "a" must be null or an object'],
    [{ a: { shape: 'Tree' } }, 'slot "a".shape must be Scalar, List or Composite'],
    [{ a: { value: 'x' } }, 'slot "a".value must be an object'],
    [{ a: { value: { interpretedValue: 1 } } }, 'slot "a".value.interpretedValue must be a string'],
    [{ a: { values: {} } }, 'slot "a".values must be an array'],
    [{ a: { values: [null] } }, 'slot "a".values[0] must be an object'],
  ])('reports %j', (slots, problem) => {
    expect(slotsProblem(slots)).toBe(problem);
  });
});
