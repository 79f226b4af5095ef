import 'reflect-metadata';

import { Logger } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import type { Platform } from '../common/platform';
import type { AppConfig } from '../config';
import {
  type DispatchInput,
  type DispatchOutcome,
  type FulfillmentResult,
  type IntentHandlerRegistry,
  PENDING_FULFILLMENT_PARAMETER,
} from '../fulfillment';
import type { Turn, TurnPipeline } from '../turn/turn-pipeline';
import { DialogflowCxAdapter } from './dialogflow-cx/dialogflow-cx.adapter';
import { DialogflowEsAdapter } from './dialogflow-es/dialogflow-es.adapter';
import { GenericAdapter } from './generic/generic.adapter';
import type { PlatformAdapter, WebhookCall } from './platform-adapter';
import type { PlatformAdapters } from './platform-adapters';
import { RasaAdapter } from './rasa/rasa.adapter';
import { WebhookRunner } from './webhook-runner';
import readmeRequest from '../../test/fixtures/dialogflow-es-readme-request.json';
import cxFixture from '../../test/fixtures/dialogflow-cx/get-account-balance.json';
import type { Caller } from '../common/caller';

const CALLER: Caller = { id: 'bot', platforms: ['dialogflow-es', 'dialogflow-cx', 'rasa', 'generic'] };
const CALL: WebhookCall = { caller: CALLER, requestId: 'req-1', arrivedAt: performance.now() };

function setup(
  result: FulfillmentResult = { text: 'hi' },
  options: { outcome?: DispatchOutcome; rasaActions?: Record<string, string>; followup?: string } = {},
) {
  const dispatched: { input: DispatchInput; budget: number }[] = [];
  const pipeline = {
    run: (turn: Turn) => {
      dispatched.push({ input: turn.input, budget: turn.deadline.budgetMs });
      return Promise.resolve({ ...turn.render(result, options.outcome ?? 'fulfilled'), replayed: false });
    },
  } as unknown as TurnPipeline;
  const intents = ['GetAccountBalance', 'Custom'];
  const registry = {
    find: (intent: string) => (intents.includes(intent) ? { intent } : undefined),
    intents: () => intents,
  } as unknown as IntentHandlerRegistry;
  const config = {
    fulfillment: {
      deadlinesMs: { rasa: 1234, 'dialogflow-es': 4500, 'dialogflow-cx': 4500, generic: 4500 },
      errorText: 'Sorry.',
      responseSource: 'test',
      rasaActions: options.rasaActions ?? {},
      pendingFollowupEvent: options.followup,
    },
    rasa: { openEndpoints: false, slotMap: {} },
  } as unknown as AppConfig;
  const rasa = new RasaAdapter(registry, config);
  const byPlatform: Partial<Record<Platform, PlatformAdapter>> = {
    rasa,
    'dialogflow-es': new DialogflowEsAdapter(config),
    'dialogflow-cx': new DialogflowCxAdapter(),
    generic: new GenericAdapter(registry),
  };
  const adapters = { get: (platform: Platform) => byPlatform[platform] } as unknown as PlatformAdapters;
  return { runner: new WebhookRunner(adapters, pipeline, config), dispatched, rasa };
}

async function run(runner: WebhookRunner, platform: Platform, body: unknown, call = CALL) {
  const { status, json } = await runner.run(platform, body, call);
  return { status, body: JSON.parse(json) as unknown };
}

const rasaCall = (extra: Record<string, unknown> = {}) => ({
  next_action: 'action_get_account_balance',
  sender_id: 's',
  tracker: { slots: {}, events: [] },
  ...extra,
});

describe('WebhookRunner', () => {
  describe('with the Rasa adapter (the Rasa SDK’s own answers)', () => {
    it('dispatches the mapped intent within the Rasa budget', async () => {
      const { runner, dispatched } = setup();
      expect(await run(runner, 'rasa', rasaCall())).toEqual({
        status: 200,
        body: { events: [], responses: [{ text: 'hi' }] },
      });
      expect(dispatched).toHaveLength(1);
      expect(dispatched[0]?.budget).toBe(1234);
      expect(dispatched[0]?.input).toMatchObject({ intent: 'GetAccountBalance', sessionId: 's', requestId: 's:0' });
    });

    it('uses the configured action map, and lists the actions it serves', async () => {
      const { runner, dispatched, rasa } = setup({ text: 'x' }, { rasaActions: { check_it: 'Custom' } });
      expect((await run(runner, 'rasa', rasaCall({ next_action: 'check_it' }))).status).toBe(200);
      expect(dispatched[0]?.input.intent).toBe('Custom');
      expect(rasa.actionList()).toBe(
        JSON.stringify([{ name: 'action_custom' }, { name: 'action_get_account_balance' }, { name: 'check_it' }]),
      );
    });

    it.each(['action_unknown', 'utter_greet', 'constructor'])(
      'answers 404 for the action %s, before validating',
      async (name) => {
        const { runner, dispatched } = setup();
        expect(await run(runner, 'rasa', { next_action: name })).toEqual({
          status: 404,
          body: { error: `No registered action found for name '${name}'.`, action_name: name },
        });
        expect(dispatched).toHaveLength(0);
      },
    );

    it('answers 400 with the action name for an invalid call of a known action', async () => {
      const { runner, dispatched } = setup();
      expect(await run(runner, 'rasa', rasaCall({ tracker: { slots: [] } }))).toEqual({
        status: 400,
        body: {
          error: 'Rasa action call is invalid: tracker.slots must be an object.',
          action_name: 'action_get_account_balance',
        },
      });
      expect(dispatched).toHaveLength(0);
    });

    it.each([
      ['no next_action', { tracker: {} }],
      ['a numeric next_action', { next_action: 1, tracker: {} }],
    ])('answers 400 without an action name for %s', async (_label, input) => {
      expect(await run(setup().runner, 'rasa', input)).toEqual({
        status: 400,
        body: { error: expect.stringMatching(/^Rasa action call is invalid: .*next_action/) },
      });
    });

    it.each([[[1]], ['text'], [null]])('answers 400 for the body %j', async (input) => {
      expect(await run(setup().runner, 'rasa', input)).toEqual({
        status: 400,
        body: { error: 'Rasa action call must be a JSON object.' },
      });
    });
  });

  it('answers a lighter form of the handler’s reply, and logs why, when the full one breaks the platform’s rules', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const payload: Record<string, unknown> = {};
      payload.self = payload;
      const { runner } = setup({ text: 'Moved.', payload });
      expect(await run(runner, 'rasa', rasaCall())).toEqual({
        status: 200,
        body: { events: [], responses: [{ text: 'Moved.' }] },
      });
      // The session values a committed transfer sets would take the reply over 64 KiB: its text still goes out.
      const { runner: es } = setup({
        text: 'Moved.',
        messages: [{ type: 'text', text: 'Moved.' }],
        contexts: [{ name: 'bad name!', lifespan: 1 }],
        sessionParameters: { receipt: 'r'.repeat(70_000) },
      });
      const sent = (await run(es, 'dialogflow-es', readmeRequest)).body as Record<string, unknown>;
      expect(sent.fulfillmentText).toBe('Moved.');
      expect(sent).not.toHaveProperty('outputContexts');
      expect(error.mock.calls.map(([line]) => String(line))).toEqual([
        expect.stringMatching(
          /^Response for intent "GetAccountBalance" rejected before sending \(request req-1, rasa turn s:0\): response is not serialisable.*; sent the handler's reply without its rich messages and payload$/s,
        ),
        expect.stringMatching(
          /^Response for intent "GetAccountBalance" rejected before sending \(request req-1, dialogflow-es turn .+\): output context "bad name!" has an invalid name; response is \d+ bytes, over Dialogflow's 65536-byte limit; sent the handler's reply without its rich messages, payload and session values$/,
        ),
      ]);
    } finally {
      error.mockRestore();
    }
  });

  it('answers the error reply, and logs why, when no lighter form of the reply is accepted', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const { runner } = setup({ text: 'x'.repeat(70_000), sessionParameters: { step: 1 } });
      const body = (await run(runner, 'dialogflow-es', readmeRequest)).body as { fulfillmentText: string };
      expect(body.fulfillmentText).toBe('Sorry.');
      expect(error.mock.calls.map(([line]) => String(line))).toEqual([
        expect.stringMatching(/over Dialogflow's 65536-byte limit; sent the error reply$/),
      ]);
    } finally {
      error.mockRestore();
    }
  });

  it('refuses a Dialogflow CX call with neither a webhook tag nor an intent', async () => {
    const body = structuredClone(cxFixture) as Record<string, unknown>;
    delete body.fulfillmentInfo;
    delete body.intentInfo;
    const refusal = await setup()
      .runner.run('dialogflow-cx', body, CALL)
      .catch((caught: unknown) => caught);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'fulfillmentInfo.tag' }] });
  });

  it('adds a Dialogflow ES follow-up event to an interim reply when PENDING_FOLLOWUP_EVENT is set, and only then', async () => {
    const interim = { text: 'wait', sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: 'p-1' } };
    const followed = await run(
      setup(interim, { outcome: 'timed-out', followup: 'PENDING' }).runner,
      'dialogflow-es',
      readmeRequest,
    );
    expect(followed.body).toMatchObject({
      followupEventInput: { name: 'PENDING', parameters: { [PENDING_FULFILLMENT_PARAMETER]: 'p-1' } },
    });
    const plain = await run(setup(interim, { outcome: 'timed-out' }).runner, 'dialogflow-es', readmeRequest);
    expect(plain.body).not.toHaveProperty('followupEventInput');
    const answered = await run(setup(interim, { followup: 'PENDING' }).runner, 'dialogflow-es', readmeRequest);
    expect(answered.body).not.toHaveProperty('followupEventInput');
  });

  it('takes a generic turn’s id from the Idempotency-Key when the body has none', async () => {
    const { runner, dispatched } = setup();
    const body = { sessionId: 's', intent: 'GetAccountBalance' };
    const reply = await run(runner, 'generic', body, { ...CALL, idempotencyKey: 'turn-42' });
    expect(reply.body).toMatchObject({ requestId: 'turn-42' });
    expect(dispatched[0]?.input.requestId).toBe('turn-42');
  });
});
