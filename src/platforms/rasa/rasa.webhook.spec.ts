import 'reflect-metadata';

import { AppConfig } from '../../config';
import type { Caller, DispatchInput, FulfillmentResult, IntentHandlerRegistry } from '../../fulfillment';
import type { Turn, TurnPipeline } from '../turn-pipeline';
import { RasaWebhook } from './rasa.webhook';

const CALLER: Caller = { id: 'rasa', platforms: ['rasa'] };

function setup(result: FulfillmentResult = { text: 'hi' }, rasaActions: Record<string, string> = {}) {
  const dispatched: { input: DispatchInput; budget: number }[] = [];
  const pipeline = {
    run: (turn: Turn) => {
      dispatched.push({ input: turn.input, budget: turn.budgetMs });
      return Promise.resolve({ ...turn.render(result, 'fulfilled'), replayed: false });
    },
  } as unknown as TurnPipeline;
  const intents = ['GetAccountBalance', 'Custom'];
  const registry = {
    find: (intent: string) => (intents.includes(intent) ? { intent } : undefined),
    intents: () => intents,
  } as unknown as IntentHandlerRegistry;
  const config = {
    fulfillment: { deadlinesMs: { rasa: 1234 }, errorText: 'Sorry.', rasaActions },
  } as unknown as AppConfig;
  return { webhook: new RasaWebhook(pipeline, registry, config), dispatched };
}

const body = (extra: Record<string, unknown> = {}) => ({
  next_action: 'action_get_account_balance',
  sender_id: 's',
  tracker: { slots: {}, events: [] },
  ...extra,
});

async function handle(webhook: RasaWebhook, input: unknown) {
  const { status, json } = await webhook.handle(input, CALLER, 'req-1');
  return { status, body: JSON.parse(json) as unknown };
}

describe('RasaWebhook', () => {
  it('dispatches the mapped intent within the Rasa budget', async () => {
    const { webhook, dispatched } = setup();
    expect(await handle(webhook, body())).toEqual({ status: 200, body: { events: [], responses: [{ text: 'hi' }] } });
    expect(dispatched).toHaveLength(1);
    expect(dispatched[0]?.budget).toBe(1234);
    expect(dispatched[0]?.input).toMatchObject({ intent: 'GetAccountBalance', sessionId: 's', requestId: 's:0' });
  });

  it('uses the configured action map', async () => {
    const { webhook, dispatched } = setup({ text: 'x' }, { check_it: 'Custom' });
    expect((await handle(webhook, body({ next_action: 'check_it' }))).status).toBe(200);
    expect(dispatched[0]?.input.intent).toBe('Custom');
    expect(webhook.actionList()).toBe(
      JSON.stringify([{ name: 'action_custom' }, { name: 'action_get_account_balance' }, { name: 'check_it' }]),
    );
  });

  it.each(['action_unknown', 'utter_greet', 'constructor'])(
    'answers 404 for the action %s, before validating',
    async (name) => {
      const { webhook, dispatched } = setup();
      expect(await handle(webhook, { next_action: name })).toEqual({
        status: 404,
        body: { error: `No registered action found for name '${name}'.`, action_name: name },
      });
      expect(dispatched).toHaveLength(0);
    },
  );

  it('answers 400 with the action name for an invalid call of a known action', async () => {
    const { webhook, dispatched } = setup();
    const { status, body: error } = await handle(webhook, body({ tracker: { slots: [] } }));
    expect(status).toBe(400);
    expect(error).toEqual({
      error: 'Rasa action call is invalid: tracker.slots must be an object.',
      action_name: 'action_get_account_balance',
    });
    expect(dispatched).toHaveLength(0);
  });

  it.each([
    ['no next_action', { tracker: {} }],
    ['a numeric next_action', { next_action: 1, tracker: {} }],
  ])('answers 400 without an action name for %s', async (_label, input) => {
    const { status, body: error } = await handle(setup().webhook, input);
    expect(status).toBe(400);
    expect(error).toEqual({ error: expect.stringMatching(/^Rasa action call is invalid: .*next_action/) });
  });

  it.each([[[1]], ['text'], [null]])('answers 400 for the body %j', async (input) => {
    expect(await handle(setup().webhook, input)).toEqual({
      status: 400,
      body: { error: 'Rasa action call must be a JSON object.' },
    });
  });

  it('answers the error text when the result cannot be serialised', async () => {
    const payload: Record<string, unknown> = {};
    payload.self = payload;
    const { webhook } = setup({ text: 'x', payload });
    expect(await handle(webhook, body())).toEqual({
      status: 200,
      body: { events: [], responses: [{ text: 'Sorry.' }] },
    });
  });
});
