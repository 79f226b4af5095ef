import type { FulfillmentStage } from '../../fulfillment';
import type { RasaActionCall } from './rasa.request';
import { isTrackerEvent, latestUserEventAt, type TrackerEvent } from './rasa.tracker-events';

/** What every delivery of one action call shares: the request id (logs, handlers) and the idempotency turn key. */
export interface RasaTurnId {
  readonly requestId: string;
  readonly turnKey: string;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Rasa has no id per action call, so the id is made from the tracker: which user message the call answers and
 * how far the conversation has gone since. A retry repeats the body, so it gets the same id; two calls differ
 * in at least one part even when Rasa caps the events it keeps (`max_events`) or sends none.
 *
 * The turn key (hashed into the idempotency key) holds: the sender; the latest message's `message_id`, its text,
 * and the `message_id` and `timestamp` of the last `user` event; the number of events, the position of that
 * user event among them and the tracker's `latest_event_time` (else the last event's timestamp); the action and
 * the stage. A part the tracker lacks is `null`. Without a message id or timestamp (a tracker with no user
 * event), two calls for the same action after equal event counts differ only if their latest messages' texts do.
 *
 * The request id is `<sender_id>:<message id, else user event timestamp>:<events after that user event (all of
 * them when it is not among the events)>`, or `<sender_id>:<number of events>` when the tracker names no user
 * message.
 */
export function rasaTurnIdOf(call: RasaActionCall, senderId: string, stage: FulfillmentStage): RasaTurnId {
  const { tracker } = call;
  const events: readonly unknown[] = tracker.events ?? [];
  const userAt = latestUserEventAt(events);
  const user = userAt === -1 ? undefined : (events[userAt] as TrackerEvent);
  const latestMessageId = nonEmpty(tracker.latest_message?.message_id);
  const userMessageId = nonEmpty(user?.message_id);
  const sentAt = finite(user?.timestamp);
  const last = events.at(-1);
  const latestEventTime =
    finite(tracker.latest_event_time) ?? (isTrackerEvent(last) ? finite(last.timestamp) : undefined);

  const anchor = latestMessageId ?? userMessageId ?? (sentAt === undefined ? undefined : String(sentAt));
  const since = userAt === -1 ? events.length : events.length - 1 - userAt;
  return {
    requestId: anchor === undefined ? `${senderId}:${events.length}` : `${senderId}:${anchor}:${since}`,
    turnKey: JSON.stringify({
      sender: senderId,
      message: latestMessageId ?? null,
      text: tracker.latest_message?.text ?? null,
      userMessage: userMessageId ?? null,
      sentAt: sentAt ?? null,
      events: events.length,
      userAt,
      latestEventTime: latestEventTime ?? null,
      action: call.next_action,
      stage,
    }),
  };
}
