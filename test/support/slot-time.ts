/** How the service writes a slot's time in English replies ("Mon, Dec 7, 09:00"), always in UTC. */
export const SLOT_TIME = new Intl.DateTimeFormat('en', {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  // As the service: h23, for hour12: false prints the hour after midnight as 24 in English.
  hourCycle: 'h23',
  timeZone: 'UTC',
});
