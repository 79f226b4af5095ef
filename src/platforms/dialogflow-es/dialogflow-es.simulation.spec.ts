import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import { renderResponse, toDispatchInput } from './dialogflow-es.adapter';
import { DialogflowEsWebhookRequest } from './dialogflow-es.request';
import { dialogflowEsSimulation } from './dialogflow-es.simulation';
import type { SimulatedTurn } from '../platform-simulation';

const SESSION = 'projects/simulator/agent/sessions/sim-1';

function turn(intent: string, parameters: Record<string, string>, esContexts: readonly unknown[]): SimulatedTurn {
  return {
    platform: 'dialogflow-es',
    intent,
    parameters,
    sessionParameters: {},
    esContexts,
    sessionId: 'sim-1',
    languageCode: 'en',
    text: `(${intent})`,
    stage: 'fulfillment',
  };
}

describe('Dialogflow ES simulation', () => {
  it('sends a day as @sys.date resolves it (noon of the day, with its offset), its typed text as .original', () => {
    const contexts = [{ name: `${SESSION}/contexts/session-parameters`, lifespanCount: 49, parameters: {} }];
    const request = dialogflowEsSimulation.request(
      turn('FindAppointmentSlots', { provider: 'dr-lee', date: '2026-12-07', note: '2026-12-07' }, contexts),
    ) as {
      queryResult: { parameters: Record<string, string>; outputContexts: { parameters: Record<string, string> }[] };
    };
    expect(request.queryResult.parameters).toEqual({
      provider: 'dr-lee',
      date: '2026-12-07T12:00:00+00:00',
      // Not named like a date: not a date entity's value.
      note: '2026-12-07',
    });
    expect(request.queryResult.outputContexts[0].parameters).toMatchObject({
      date: '2026-12-07T12:00:00+00:00',
      'date.original': '2026-12-07',
    });
  });

  it("merges the matched intent's parameters, with their .original text, into every active context", () => {
    const contexts = [
      { name: `${SESSION}/contexts/session-parameters`, lifespanCount: 49, parameters: { kept: { sku: 'X200' } } },
      { name: `${SESSION}/contexts/account-info`, lifespanCount: 2, parameters: { sku: 'X100', user_id: '12345' } },
    ];
    const body = dialogflowEsSimulation.request(
      turn('GetShippingEstimate', { sku: '', postcode: '10115' }, contexts),
    ) as { queryResult: { outputContexts: unknown[] } };
    const merged = { sku: '', 'sku.original': '', postcode: '10115', 'postcode.original': '10115' };
    expect(body.queryResult.outputContexts).toEqual([
      { ...contexts[0], parameters: { kept: { sku: 'X200' }, ...merged } },
      { ...contexts[1], parameters: { user_id: '12345', ...merged } },
    ]);
  });

  it('carries a session value to the next turn through what ES merges (simulator and adapter together)', () => {
    const reply = renderResponse({ text: 'in stock', sessionParameters: { sku: 'X200' } }, SESSION, 'webhook');
    const { esContexts } = dialogflowEsSimulation.remember(reply as Record<string, unknown>, {}, []);
    const second = dialogflowEsSimulation.request(
      turn('GetShippingEstimate', { sku: '', product: '', postcode: '10115' }, esContexts),
    );
    const input = toDispatchInput(plainToInstance(DialogflowEsWebhookRequest, second), {
      id: 'simulator',
      platforms: ['dialogflow-es'],
    });
    expect(input.sessionParameters).toEqual({ sku: 'X200' });
    expect(input.parameters).toEqual({ postcode: '10115' });
  });
});
