/** One event of a Rasa tracker, as sent: any object (its shape is read, never validated). */
export type TrackerEvent = Readonly<Record<string, unknown>>;

export function isTrackerEvent(value: unknown): value is TrackerEvent {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where the latest `user` event (the user's message) is among `events`; -1 when there is none. */
export function latestUserEventAt(events: readonly unknown[]): number {
  return events.findLastIndex((event) => isTrackerEvent(event) && event.event === 'user');
}
