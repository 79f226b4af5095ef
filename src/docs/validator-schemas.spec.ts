import 'reflect-metadata';
import Ajv2020 from 'ajv/dist/2020';
import { defaultConverters } from 'class-validator-jsonschema/build/defaultConverters';
import { AppError } from '../common/errors/app-error';
import { validateBody } from '../common/validation/validate-body';
import { requestSchemas } from '../common/validation/request-schemas';
import { DialogflowCxWebhookRequest } from '../platforms/dialogflow-cx/dialogflow-cx.request';
import { DialogflowEsWebhookRequest } from '../platforms/dialogflow-es/dialogflow-es.request';
import { GenericWebhookRequest } from '../platforms/generic/generic.request';
import { LexV2Event } from '../platforms/lex-v2/lex-v2.request';
import { RasaActionCall } from '../platforms/rasa/rasa.request';
import type { Platform } from '../common/platform';
import { requestExample } from './examples';
import {
  CONSTRAINT_SCHEMAS,
  CONVERTED_CONSTRAINTS,
  customConstraints,
  withValidatorSchemas,
} from './validator-schemas';

const REQUEST_TYPES = [
  DialogflowEsWebhookRequest,
  DialogflowCxWebhookRequest,
  LexV2Event,
  RasaActionCall,
  GenericWebhookRequest,
] as const;

/** The documented schemas of every platform request, compiled as a client would use them. */
function documentedSchemas() {
  const schemas = withValidatorSchemas(REQUEST_TYPES, requestSchemas(REQUEST_TYPES));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'https://doc.test/openapi.json', components: { schemas } });
  return (type: { name: string }) => ajv.getSchema(`https://doc.test/openapi.json#/components/schemas/${type.name}`)!;
}

type RequestType = (typeof REQUEST_TYPES)[number];

function acceptedByService(type: RequestType, body: object): boolean {
  try {
    validateBody(type as new () => object, body, 'request');
    return true;
  } catch (error: unknown) {
    if (error instanceof AppError && error.code === 'VALIDATION_FAILED') return false;
    throw error;
  }
}

/** A platform's example request with the values at dotted paths replaced (removed where undefined). */
function changed(platform: Platform, changes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const body = requestExample(platform);
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.');
    const last = keys.pop()!;
    const parent = keys.reduce((at, key) => at[key] as Record<string, unknown>, body);
    if (value === undefined) delete parent[last];
    else parent[last] = value;
  }
  return body;
}

describe('withValidatorSchemas', () => {
  it('knows the schema of every custom constraint on a platform request', () => {
    // class-validator's own decorators (isString, matches, …) class-validator-jsonschema converts itself.
    const unknown = customConstraints(REQUEST_TYPES)
      .filter(({ constraint }) => !(constraint in defaultConverters))
      .filter(({ constraint }) => !CONSTRAINT_SCHEMAS[constraint] && !CONVERTED_CONSTRAINTS.has(constraint))
      .map(({ target, property, constraint }) => `${target.name}.${property}: ${constraint}`);
    expect(unknown).toEqual([]);
  });

  const SLOT = 'sessionState.intent.slots.user_id';
  const PARAMETER = 'intentInfo.parameters.user_id';
  /** [what, request class, platform, changes to its example request] */
  const cases: [string, RequestType, Platform, Record<string, unknown>][] = [
    // Lex attribute maps: strings only.
    ['a string session attribute', LexV2Event, 'lex-v2', { 'sessionState.sessionAttributes': { a: 'x' } }],
    ['a number session attribute', LexV2Event, 'lex-v2', { 'sessionState.sessionAttributes': { a: 1 } }],
    ['a null request attribute', LexV2Event, 'lex-v2', { requestAttributes: { a: null } }],
    [
      'an object context attribute',
      LexV2Event,
      'lex-v2',
      { 'sessionState.activeContexts': [{ name: 'ctx', contextAttributes: { a: {} } }] },
    ],
    // Lex slots: null or a slot, at every depth.
    ['a null slot', LexV2Event, 'lex-v2', { [SLOT]: null }],
    ['a string slot', LexV2Event, 'lex-v2', { [SLOT]: 's' }],
    ['a slot of another shape', LexV2Event, 'lex-v2', { [`${SLOT}.shape`]: 'Other' }],
    ['a number interpreted value', LexV2Event, 'lex-v2', { [`${SLOT}.value.interpretedValue`]: 1 }],
    ['a null interpreted value', LexV2Event, 'lex-v2', { [`${SLOT}.value.interpretedValue`]: null }],
    ['a null item of a list slot', LexV2Event, 'lex-v2', { [`${SLOT}.values`]: [null] }],
    [
      'a list slot of slots',
      LexV2Event,
      'lex-v2',
      { [SLOT]: { shape: 'List', values: [{ value: { interpretedValue: 'a' } }] } },
    ],
    ['a null sub-slot', LexV2Event, 'lex-v2', { [`${SLOT}.subSlots`]: { a: null } }],
    ['a string sub-slot', LexV2Event, 'lex-v2', { [`${SLOT}.subSlots`]: { a: 'x' } }],
    // Dialogflow CX intent parameters: {originalValue, resolvedValue}.
    ['a bare intent parameter', DialogflowCxWebhookRequest, 'dialogflow-cx', { [PARAMETER]: 's' }],
    [
      'a number original value',
      DialogflowCxWebhookRequest,
      'dialogflow-cx',
      { [PARAMETER]: { originalValue: 1, resolvedValue: 1 } },
    ],
    [
      'an object resolved value',
      DialogflowCxWebhookRequest,
      'dialogflow-cx',
      { [PARAMETER]: { resolvedValue: { amount: 1 } } },
    ],
    // Bounded maps, at their top level.
    [
      'a parameter map of too many keys',
      GenericWebhookRequest,
      'generic',
      { parameters: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`k${i}`, i])) },
    ],
    ['a parameter named too long', GenericWebhookRequest, 'generic', { parameters: { ['k'.repeat(513)]: 1 } }],
    ['a parameter text too long', GenericWebhookRequest, 'generic', { parameters: { a: 'x'.repeat(16_385) } }],
    ['a parameter list too long', RasaActionCall, 'rasa', { 'tracker.slots': { a: Array(1001).fill(1) } }],
    ['a list parameter', DialogflowEsWebhookRequest, 'dialogflow-es', { 'queryResult.parameters': { a: [1, 'x'] } }],
  ];

  const validate = documentedSchemas();

  it.each(cases)('the document and the service agree on %s', (_what, type, platform, changes) => {
    const body = changed(platform, changes);
    expect({ documented: validate(type)(body) }).toEqual({ documented: acceptedByService(type, body) });
  });

  it('requires a Dialogflow CX fulfillment tag or intent display name that is not blank (what routeOf routes by)', () => {
    const schema = validate(DialogflowCxWebhookRequest);
    expect(schema(changed('dialogflow-cx', {}))).toBe(true);
    expect(schema(changed('dialogflow-cx', { intentInfo: undefined }))).toBe(true);
    expect(schema(changed('dialogflow-cx', { fulfillmentInfo: undefined }))).toBe(true);
    expect(schema(changed('dialogflow-cx', { 'fulfillmentInfo.tag': ' ', 'intentInfo.displayName': '' }))).toBe(false);
    expect(schema(changed('dialogflow-cx', { fulfillmentInfo: undefined, intentInfo: undefined }))).toBe(false);
  });
});
