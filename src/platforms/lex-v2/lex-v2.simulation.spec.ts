import 'reflect-metadata';

import type { Caller } from '../../common/caller';
import { validateBody } from '../../common/validation/validate-body';
import type { SimulatedTurn } from '../platform-simulation';
import { toDispatchInput } from './lex-v2.adapter';
import { LexV2Event } from './lex-v2.request';
import { lexV2Simulation } from './lex-v2.simulation';

interface SimulatedEvent {
  invocationSource: string;
  interpretations: { intent: { slots: Record<string, unknown> } }[];
  proposedNextState?: {
    dialogAction: { type: string; slotToElicit?: string };
    intent: { name: string; slots: Record<string, unknown>; state: string };
    prompt: { attempt: string };
  };
  sessionState: { intent: { slots: Record<string, unknown>; state: string; confirmationState: string } };
}

const booking: SimulatedTurn = {
  platform: 'lex-v2',
  intent: 'BookAppointment',
  parameters: { provider: 'dr-lee', date: '2026-12-07' },
  sessionParameters: {},
  esContexts: [],
  sessionId: 'sim-1',
  languageCode: 'en',
  text: '(BookAppointment)',
  stage: 'fulfillment',
};

const send = (turn: Partial<SimulatedTurn>): SimulatedEvent =>
  lexV2Simulation.request({ ...booking, ...turn }) as unknown as SimulatedEvent;

const scalar = (value: string) => ({
  shape: 'Scalar',
  value: { originalValue: value, interpretedValue: value, resolvedValues: [value] },
});

describe('Lex V2 simulation: the code hook event Lex would send', () => {
  it('sends every slot of the intent, one not yet filled as null', () => {
    const event = send({});
    const slots = { provider: scalar('dr-lee'), date: scalar('2026-12-07'), time: null, patient_id: null };
    expect(event.sessionState.intent.slots).toEqual(slots);
    expect(event.interpretations[0].intent.slots).toEqual(slots);
  });

  it('calls the dialog code hook, intent InProgress, while a required slot is missing, and proposes eliciting it', () => {
    const event = send({});
    expect(event.invocationSource).toBe('DialogCodeHook');
    expect(event.sessionState.intent.state).toBe('InProgress');
    expect(event.proposedNextState).toEqual({
      dialogAction: { type: 'ElicitSlot', slotToElicit: 'time' },
      intent: expect.objectContaining({
        name: 'BookAppointment',
        state: 'InProgress',
        slots: expect.objectContaining({ time: null, patient_id: null }),
      }),
      prompt: { attempt: 'Initial' },
    });
  });

  it('proposes the first missing slot in the order the bot elicits them', () => {
    const event = send({ parameters: { time: '09:00', patient_id: 'P-1001' } });
    expect(event.proposedNextState?.dialogAction).toEqual({ type: 'ElicitSlot', slotToElicit: 'provider' });
  });

  it('calls the fulfillment code hook, intent ReadyForFulfillment, once every required slot is filled', () => {
    const event = send({ parameters: { provider: 'dr-lee', date: '2026-12-07', time: '09:00', patient_id: 'P-1001' } });
    expect(event.invocationSource).toBe('FulfillmentCodeHook');
    expect(event.sessionState.intent.state).toBe('ReadyForFulfillment');
    expect(event).not.toHaveProperty('proposedNextState');

    // An optional slot left unfilled is sent as null, and Lex does not wait for it.
    const balance = send({ intent: 'GetAccountBalance', parameters: { user_id: '12345' } });
    expect(balance.invocationSource).toBe('FulfillmentCodeHook');
    expect(balance.sessionState.intent.slots).toEqual({ user_id: scalar('12345'), account_type: null });
  });

  it('sends an empty --param as an unfilled slot, not as a value Lex never sends', () => {
    const event = send({ parameters: { provider: 'dr-lee', date: '2026-12-07', time: '', patient_id: 'P-1001' } });
    expect(event.sessionState.intent.slots.time).toBeNull();
    expect(event.proposedNextState?.dialogAction.slotToElicit).toBe('time');
  });

  it('keeps --stage dialog a dialog code hook with every slot filled, with no slot to propose', () => {
    const event = send({
      stage: 'dialog',
      parameters: { provider: 'dr-lee', date: '2026-12-07', time: '09:00', patient_id: 'P-1001' },
    });
    expect(event.invocationSource).toBe('DialogCodeHook');
    expect(event.sessionState.intent.state).toBe('InProgress');
    expect(event).not.toHaveProperty('proposedNextState');
  });

  it('sends an intent the bot does not define with the parameters given, as a fulfillment', () => {
    const event = send({
      intent: 'OrderPizza',
      parameters: { size: 'large', confirmation: 'yes' },
      confirmation: 'yes',
    });
    expect(event.invocationSource).toBe('FulfillmentCodeHook');
    expect(event.sessionState.intent.slots).toEqual({ size: scalar('large') });
    expect(event.sessionState.intent.confirmationState).toBe('Confirmed');
  });

  it('is an event the adapter accepts, read as the dialog stage without the unfilled slots', () => {
    const event = send({});
    expect(() => validateBody(LexV2Event, event, 'Lex V2 event')).not.toThrow();
    const caller: Caller = { id: 'simulator', platforms: ['lex-v2'] };
    const input = toDispatchInput(event as unknown as LexV2Event, caller);
    expect(input.stage).toBe('dialog');
    expect(input.parameters).toEqual({ provider: 'dr-lee', date: '2026-12-07' });
    expect(input.platformDetails).toEqual({ proposedNextState: event.proposedNextState });
  });

  it('says so when the answer delegates without a message (Lex words its own prompt)', () => {
    const delegated = { sessionState: { dialogAction: { type: 'Delegate' }, intent: { name: 'GetAccountBalance' } } };
    expect(lexV2Simulation.replyText(delegated)).toBe("(no message: Lex goes on with the bot's own prompts)");
    const spoken = {
      sessionState: { dialogAction: { type: 'Close' } },
      messages: [{ contentType: 'PlainText', content: 'Hi' }],
    };
    expect(lexV2Simulation.replyText(spoken)).toBe('Hi');
  });
});
