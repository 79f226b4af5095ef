/** How the service writes a slot's time in English replies ("Mon, Dec 7, 09:00"), always in UTC. */
export const SLOT_TIME = new Intl.DateTimeFormat('en', {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
  timeZone: 'UTC',
});
