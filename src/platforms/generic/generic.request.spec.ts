import 'reflect-metadata';

import { AppError } from '../../common/errors/app-error';
import { validateBody } from '../../common/validation/validate-body';
import { GenericWebhookRequest } from './generic.request';

function fields(body: unknown): string[] {
  try {
    validateBody(GenericWebhookRequest, body, 'Generic webhook request');
    return [];
  } catch (error) {
    return (error as AppError).details.map((detail) => detail.field);
  }
}

const VALID = { sessionId: 's', intent: 'GetAccountBalance' };

describe('GenericWebhookRequest', () => {
  it('accepts the minimal request and a full one', () => {
    expect(fields(VALID)).toEqual([]);
    expect(
      fields({
        ...VALID,
        requestId: 'r',
        parameters: { a: 1 },
        sessionParameters: {},
        languageCode: 'zh-Hant-TW',
        text: 'hi',
        stage: 'dialog',
        confirmation: 'denied',
        contexts: [{ name: 'c', lifespan: 0, parameters: {} }],
      }),
    ).toEqual([]);
  });

  it('refuses an array where a context goes ([[…]] passed class-validator, giving handlers a context with no name)', () => {
    expect(fields({ ...VALID, contexts: [[]] })).toEqual(['contexts']);
    expect(fields({ ...VALID, contexts: [[{ name: 'a' }]] })).toEqual(['contexts']);
    expect(fields({ ...VALID, contexts: [{ name: 'a' }] })).toEqual([]);
  });

  it('counts a length in characters as PostgreSQL does: variation selectors too (they escaped MaxLength)', () => {
    expect(fields({ ...VALID, sessionId: 'x'.repeat(512) })).toEqual([]);
    expect(fields({ ...VALID, sessionId: 'x\uFE0F'.repeat(256) })).toEqual([]);
    expect(fields({ ...VALID, sessionId: 'x\uFE0F'.repeat(512) })).toEqual(['sessionId']);
    expect(fields({ ...VALID, requestId: 'r\uFE0E'.repeat(200) })).toEqual(['requestId']);
  });

  it('ignores unknown fields at every level', () => {
    expect(fields({ ...VALID, extra: 1, contexts: [{ name: 'c', extra: true }] })).toEqual([]);
  });

  it('names missing required fields', () => {
    expect(fields({})).toEqual(['sessionId', 'intent']);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['empty requestId', { requestId: '' }, ['requestId']],
    ['long requestId', { requestId: 'r'.repeat(256) }, ['requestId']],
    ['numeric sessionId', { sessionId: 1 }, ['sessionId']],
    ['empty intent', { intent: '' }, ['intent']],
    ['a sessionId with a NUL', { sessionId: 's\u0000' }, ['sessionId']],
    ['an intent with a line break', { intent: 'Get\nBalance' }, ['intent']],
    ['array parameters', { parameters: [] }, ['parameters']],
    ['string sessionParameters', { sessionParameters: 'x' }, ['sessionParameters']],
    ['bad languageCode', { languageCode: 'english please' }, ['languageCode']],
    ['empty languageCode', { languageCode: '' }, ['languageCode']],
    ['numeric text', { text: 5 }, ['text']],
    ['unknown stage', { stage: 'done' }, ['stage']],
    ['unknown confirmation', { confirmation: 'yes' }, ['confirmation']],
    ['object contexts', { contexts: { name: 'c' } }, ['contexts']],
    ['nameless context', { contexts: [{ lifespan: 1 }] }, ['contexts.0.name']],
    ['negative lifespan', { contexts: [{ name: 'c', lifespan: -1 }] }, ['contexts.0.lifespan']],
    ['fractional lifespan', { contexts: [{ name: 'c', lifespan: 1.5 }] }, ['contexts.0.lifespan']],
    ['string context parameters', { contexts: [{ name: 'c', parameters: 'x' }] }, ['contexts.0.parameters']],
  ])('rejects %s', (_label, extra, expected) => {
    expect([...new Set(fields({ ...VALID, ...extra }))]).toEqual(expected);
  });
});
