import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';
import { DialogflowEsWebhookRequest } from '../../platforms/dialogflow-es/dialogflow-es.request';
import { describeMutation, FIXTURES, mutations, PLATFORMS } from '../../platforms/testing/request-fixtures';
import { passesValidation } from './validity-plan';

function classValidatorVerdict(dto: ClassConstructor<object>, body: unknown): boolean {
  const errors = validateSync(plainToInstance<object, unknown>(dto, body), {
    whitelist: false,
    forbidNonWhitelisted: false,
    forbidUnknownValues: false,
  });
  return errors.length === 0;
}

describe('passesValidation', () => {
  for (const [platform, dto] of PLATFORMS) {
    it(`agrees with class-validator on every ${platform} fixture and on each mutation of each field`, () => {
      let compared = 0;
      let invalid = 0;
      for (const mutation of mutations(platform)) {
        const expected = classValidatorVerdict(dto, mutation.body);
        const actual = passesValidation(plainToInstance<object, unknown>(dto, mutation.body));
        if (actual !== expected) {
          throw new Error(
            `${describeMutation(mutation)}: class-validator says ${expected ? 'valid' : 'invalid'}, ` +
              `the plan ${actual ? 'valid' : 'invalid'}`,
          );
        }
        compared += 1;
        if (!expected) invalid += 1;
      }
      // The mutations reach both verdicts many times, so agreement is not agreement on "valid" alone.
      expect(invalid).toBeGreaterThan(50);
      expect(compared - invalid).toBeGreaterThan(50);
    });
  }

  it('finds a broken rule three levels deep and in an array element', () => {
    const body = JSON.parse(readFileSync(join(FIXTURES, 'dialogflow-es-readme-request.json'), 'utf8')) as {
      queryResult: { outputContexts?: Array<{ name: unknown }> };
    };
    expect(passesValidation(plainToInstance(DialogflowEsWebhookRequest, body))).toBe(true);
    body.queryResult.outputContexts = [{ name: 'projects/p/agent/sessions/s/contexts/ok' }, { name: 42 }];
    expect(passesValidation(plainToInstance(DialogflowEsWebhookRequest, body))).toBe(false);
  });
});
