import { lexLocale } from '../platforms/lex-v2/lex-v2.simulation';
import { buildRequest, rememberFromResponse, sessionIdFor, Turn } from './simulated-request';

const turn: Turn = {
  platform: 'generic',
  intent: 'GetAccountBalance',
  parameters: { user_id: '12345', account_type: 'checking' },
  sessionParameters: { visits: 1 },
  esContexts: [],
  sessionId: 'sim-1',
  languageCode: 'en',
  text: 'balance please',
  stage: 'fulfillment',
};

describe('simulated requests', () => {
  it('names Rasa actions and Lex locales the way those platforms do', () => {
    expect(buildRequest({ ...turn, platform: 'rasa' }).next_action).toBe('action_get_account_balance');
    expect(buildRequest({ ...turn, platform: 'rasa', intent: 'QualifyLead' }).next_action).toBe('action_qualify_lead');
    expect(lexLocale('en')).toBe('en_US');
    expect(lexLocale('de-AT')).toBe('de_AT');
    expect(lexLocale('fr')).toBe('fr_FR');
  });

  it('builds each platform request with the parameters in the platform’s own place', () => {
    const es = buildRequest({ ...turn, platform: 'dialogflow-es', confirmation: 'yes' }) as {
      queryResult: { intent: { displayName: string }; parameters: Record<string, string> };
    };
    expect(es.queryResult.intent.displayName).toBe('GetAccountBalance');
    expect(es.queryResult.parameters).toEqual({ user_id: '12345', account_type: 'checking', confirmation: 'yes' });

    const lex = buildRequest({ ...turn, platform: 'lex-v2', confirmation: 'yes', stage: 'dialog' }) as {
      invocationSource: string;
      sessionState: {
        intent: { confirmationState: string; slots: Record<string, { value: { interpretedValue: string } }> };
      };
    };
    expect(lex.invocationSource).toBe('DialogCodeHook');
    expect(lex.sessionState.intent.confirmationState).toBe('Confirmed');
    expect(lex.sessionState.intent.slots.account_type.value.interpretedValue).toBe('checking');

    const rasa = buildRequest({ ...turn, platform: 'rasa' }) as { next_action: string; tracker: { slots: object } };
    expect(rasa.next_action).toBe('action_get_account_balance');
    expect(rasa.tracker.slots).toEqual({ visits: 1, user_id: '12345', account_type: 'checking' });
    // As Rasa sends it: the message id on the latest message and its event; a form step at the dialog stage.
    const rasaTracker = (rasa as unknown as { tracker: Record<string, unknown> }).tracker;
    const messageId = (rasaTracker.latest_message as { message_id: string }).message_id;
    expect(messageId).toMatch(/^[0-9a-f]{32}$/);
    expect(rasaTracker.events).toEqual([expect.objectContaining({ event: 'user', message_id: messageId })]);
    expect(rasaTracker.active_loop).toBeUndefined();
    const dialog = buildRequest({ ...turn, platform: 'rasa', stage: 'dialog' }) as { tracker: { active_loop: object } };
    expect(dialog.tracker.active_loop).toEqual({ name: 'action_get_account_balance' });

    const cx = buildRequest({ ...turn, platform: 'dialogflow-cx' }) as { fulfillmentInfo: { tag: string } };
    expect(cx.fulfillmentInfo.tag).toBe('GetAccountBalance');
  });

  it("sends a date in each platform's own shape: CX {year, month, day}, Rasa duckling's ISO date-time", () => {
    const dated: Turn = { ...turn, parameters: { date: '2026-12-07', date_to: '2026-12-09', time: '09:00' } };
    const cx = buildRequest({ ...dated, platform: 'dialogflow-cx' }) as {
      intentInfo: { parameters: Record<string, { originalValue: string; resolvedValue: unknown }> };
      sessionInfo: { parameters: Record<string, unknown> };
    };
    expect(cx.intentInfo.parameters.date).toEqual({
      originalValue: '2026-12-07',
      resolvedValue: { year: 2026, month: 12, day: 7 },
    });
    expect(cx.sessionInfo.parameters).toEqual({
      visits: 1,
      date: { year: 2026, month: 12, day: 7 },
      date_to: { year: 2026, month: 12, day: 9 },
      time: '09:00',
    });

    const rasa = buildRequest({ ...dated, platform: 'rasa' }) as { tracker: { slots: Record<string, unknown> } };
    expect(rasa.tracker.slots).toEqual({
      visits: 1,
      date: '2026-12-07T00:00:00.000+00:00',
      date_to: '2026-12-09T00:00:00.000+00:00',
      time: '09:00',
    });

    // Lex V2's AMAZON.Date resolves to the calendar date itself.
    const lex = buildRequest({ ...dated, platform: 'lex-v2' }) as {
      sessionState: { intent: { slots: Record<string, { value: { interpretedValue: string } }> } };
    };
    expect(lex.sessionState.intent.slots.date.value.interpretedValue).toBe('2026-12-07');
  });

  it('sends a value that is no calendar date, or a date in a parameter not named like one, as typed', () => {
    const parameters = { date: 'next week', birth_date: '2026-02-30', update: '2026-12-07' };
    const cx = buildRequest({ ...turn, platform: 'dialogflow-cx', parameters }) as {
      sessionInfo: { parameters: Record<string, unknown> };
    };
    expect(cx.sessionInfo.parameters).toEqual({ visits: 1, ...parameters });
    const rasa = buildRequest({ ...turn, platform: 'rasa', parameters }) as { tracker: { slots: object } };
    expect(rasa.tracker.slots).toEqual({ visits: 1, ...parameters });
  });

  it('remembers what each platform would keep for the next turn (null removes)', () => {
    expect(rememberFromResponse('generic', { sessionParameters: { a: 1, visits: null } }, { visits: 1 })).toEqual({
      sessionParameters: { a: 1 },
      esContexts: [],
      cleared: ['visits'],
    });
    // A slot reset (a value asked for again) is named, so an earlier --param is not sent again.
    expect(
      rememberFromResponse('rasa', { events: [{ event: 'slot', name: 'time', value: null }] }, { time: '09:00' }),
    ).toEqual({ sessionParameters: {}, esContexts: [], cleared: ['time'] });
    expect(
      rememberFromResponse('rasa', { events: [{ event: 'slot', name: 'date', value: '2026-12-01' }] }, {})
        .sessionParameters,
    ).toEqual({ date: '2026-12-01' });
    expect(rememberFromResponse('dialogflow-es', { outputContexts: [{ name: 'x' }] }, {}).esContexts).toEqual([
      { name: 'x' },
    ]);
  });

  it('Dialogflow ES: contexts live out their lifespans; an answer without contexts does not end them', () => {
    const session = { name: 'sessions/s/contexts/session-parameters', lifespanCount: 50, parameters: { a: 1 } };
    const info = { name: 'sessions/s/contexts/account-info', lifespanCount: 1 };
    expect(rememberFromResponse('dialogflow-es', { fulfillmentText: 'hi' }, {}, [session, info]).esContexts).toEqual([
      { ...session, lifespanCount: 49 },
    ]);
    const ended = { name: session.name, lifespanCount: 0 };
    const fresh = { name: 'sessions/s/contexts/other', lifespanCount: 2 };
    expect(rememberFromResponse('dialogflow-es', { outputContexts: [ended, fresh] }, {}, [session]).esContexts).toEqual(
      [fresh],
    );
  });

  it("Lex V2: the answer's session attributes are the session's; a removed one and a cleared slot are gone", () => {
    const answer = {
      sessionState: {
        sessionAttributes: { customer_tier: 'gold' },
        intent: { name: 'BookAppointment', slots: { time: null, date: { value: { interpretedValue: '2026-12-07' } } } },
      },
    };
    expect(rememberFromResponse('lex-v2', answer, { customer_tier: 'gold', last_appointment: 'A7K2Q9' })).toEqual({
      sessionParameters: { customer_tier: 'gold' },
      esContexts: [],
      cleared: ['last_appointment', 'time'],
    });
  });

  it('derives a stable session id from a session name', () => {
    expect(sessionIdFor('demo')).toBe(sessionIdFor('demo'));
    expect(sessionIdFor('demo')).not.toBe(sessionIdFor('other'));
  });
});
