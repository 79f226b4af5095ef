import 'reflect-metadata';
import { Environment } from '../config/environment';
import { GenericWebhookRequest } from '../platforms/generic/generic.request';
import { LexV2Event } from '../platforms/lex-v2/lex-v2.request';
import { requestSchemas } from '../common/validation/request-schemas';

describe('requestSchemas', () => {
  it('describes what validation checks, with the nested classes the roots reach and nothing else', () => {
    expect(new Environment()).toBeDefined(); // validated with class-validator too, and never part of a request
    const schemas = requestSchemas([GenericWebhookRequest]);
    expect(Object.keys(schemas).sort()).toEqual(['GenericContext', 'GenericWebhookRequest']);
    expect(schemas.GenericWebhookRequest).toMatchObject({
      type: 'object',
      required: ['sessionId', 'intent'],
      properties: {
        sessionId: { type: 'string', minLength: 1 },
        confirmation: { enum: ['confirmed', 'denied', 'none'] },
        contexts: { type: 'array', items: { $ref: '#/components/schemas/GenericContext' } },
      },
    });
  });

  it('turns a reference to a class with no schema of its own (a custom decorator) into any object', () => {
    const schemas = requestSchemas([LexV2Event]);
    const properties = (schemas.LexV2Event as { properties: Record<string, object> }).properties;
    expect(properties.requestAttributes).toEqual({ type: 'object' });
    expect(JSON.stringify(schemas)).not.toContain('#/components/schemas/Object');
  });
});
