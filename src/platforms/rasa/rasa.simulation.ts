import { randomUUID } from 'node:crypto';
import { mergeSessionParameters, type PlatformSimulation, textsOf, withConfirmation } from '../platform-simulation';
import { simulatedDate } from '../simulated-dates';
import { defaultActionFor } from './rasa.actions';

/**
 * A slot's value as a Rasa bot fills it: a date from duckling's `time` entity, which gives the start of the day as
 * an ISO date-time with its time zone's offset (UTC here, like the demo slots); anything else as typed.
 */
function slotValue(name: string, value: string): string {
  return simulatedDate(name, value) ? `${value}T00:00:00.000+00:00` : value;
}

export const rasaSimulation: PlatformSimulation = {
  path: '/v1/webhooks/rasa',
  request: (turn) => {
    const filled = Object.entries(withConfirmation(turn)).map(([name, value]): [string, string] => [
      name,
      slotValue(name, value),
    ]);
    const slots = { ...turn.sessionParameters, ...Object.fromEntries(filled) };
    // An intent the default rule cannot reach needs RASA_ACTIONS; its name is sent as the action then.
    const action = defaultActionFor(turn.intent) ?? turn.intent;
    const messageId = randomUUID().replaceAll('-', '');
    return {
      next_action: action,
      sender_id: turn.sessionId,
      tracker: {
        sender_id: turn.sessionId,
        slots,
        latest_message: {
          text: turn.text,
          message_id: messageId,
          intent: { name: turn.intent, confidence: 1 },
          entities: [],
          metadata: { language: turn.languageCode },
        },
        latest_action_name: 'action_listen',
        events: [{ event: 'user', text: turn.text, timestamp: Date.now() / 1000, message_id: messageId }],
        // The dialog stage: the action runs as the active form's own step (a form named after it).
        ...(turn.stage === 'dialog' && { active_loop: { name: action } }),
      },
      // No domain: the simulated bot has a slot for every value a handler keeps, and without a domain every
      // session value is set (a domain would have to name them before the handler first sets them).
      version: '3.6.0',
    };
  },
  remember: (body, previous) => {
    const updates: Record<string, unknown> = {};
    for (const event of (body.events as { event?: string; name?: string; value?: unknown }[] | undefined) ?? []) {
      if (event.event === 'slot' && event.name) updates[event.name] = event.value;
    }
    return { ...mergeSessionParameters(previous, updates), esContexts: [] };
  },
  replyText: textsOf,
};
