import 'reflect-metadata';

import type { FulfillmentRequest } from '../../../fulfillment';
import type { CarrierClient, EstimateOutcome } from '../carrier.client';
import type { CommerceRepository } from '../commerce.repository';
import { GetShippingEstimateHandler } from './get-shipping-estimate.intent-handler';

const UNREACHABLE = "I can't reach our shipping partner right now. Please ask me again in a few minutes.";

function handlerWith(outcome: EstimateOutcome): GetShippingEstimateHandler {
  const commerce = {
    findProduct: () => Promise.resolve({ id: 'p-1', name: 'X200 Wireless Headphones', weightGrams: 250 }),
    shipsFrom: () => Promise.resolve({ name: 'Berlin warehouse', postcode: '10115' }),
  } as unknown as CommerceRepository;
  const carrier = { estimate: () => Promise.resolve(outcome) } as unknown as CarrierClient;
  return new GetShippingEstimateHandler(commerce, carrier);
}

function request(): FulfillmentRequest {
  return {
    platform: 'generic',
    requestId: 'r-1',
    idempotencyKey: 'k-1',
    sessionId: 's-1',
    intent: 'GetShippingEstimate',
    parameters: { sku: 'X200', postcode: '10117' },
    contexts: [],
    sessionParameters: {},
    stage: 'fulfillment',
    confirmation: 'none',
    languageCode: 'en',
    caller: { id: 'local-dev', platforms: ['generic'] },
    deadline: new Date(Date.now() + 5_000),
    signal: new AbortController().signal,
    raw: {},
  };
}

describe('GetShippingEstimateHandler', () => {
  it.each(['unavailable', 'circuit-open', 'not-configured'] as const)(
    'marks the reply failed when the carrier gives no estimate (%s): the intent was not fulfilled',
    async (reason) => {
      const result = await handlerWith({ ok: false, reason }).handle(request());
      expect(result).toMatchObject({ text: UNREACHABLE, failed: true });
    },
  );

  it('asks for the postcode again, not failed, when the carrier refuses it', async () => {
    const result = await handlerWith({ ok: false, reason: 'rejected' }).handle(request());
    expect(result).toMatchObject({ elicit: { parameter: 'postcode', invalid: true } });
    expect(result.failed).toBeUndefined();
  });

  it('answers an estimate, not failed', async () => {
    const estimate = { carrier: 'FastShip', service: 'ground', days: 3 };
    const result = await handlerWith({ ok: true, estimate }).handle(request());
    expect(result.text).toMatch(/FastShip ground and should arrive in 3 business days/);
    expect(result.failed).toBeUndefined();
  });
});
