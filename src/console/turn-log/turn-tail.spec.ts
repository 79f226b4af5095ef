import type { PgNotifications } from '../../database/pg-notifications';
import type { TurnLogQueries, TurnRow } from './turn-log.queries';
import { TurnTail } from './turn-tail';

/** A tail on a channel the test announces batches on, and turn log reads it counts. */
function harness() {
  let announce!: (message: string) => void;
  const notifications = {
    channel: () => ({
      subscribe: (onMessage: (message: string) => void) => {
        announce = onMessage;
      },
    }),
  } as unknown as PgNotifications;
  const ranges: string[] = [];
  const queries = {
    latestId: () => Promise.resolve('10'),
    range: (first: string, last: string) => {
      ranges.push(`${first}-${last}`);
      return Promise.resolve([{ id: last } as TurnRow]);
    },
  } as unknown as TurnLogQueries;
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { tail: new TurnTail(notifications, queries), announce: (m: string) => announce(m), ranges, settle };
}

describe('TurnTail', () => {
  it('reads announced batches only while someone watches', async () => {
    const { tail, announce, ranges, settle } = harness();
    const seen: string[] = [];
    const stop = tail.subscribe((rows) => seen.push(...rows.map((row) => row.id)));
    await settle();
    announce('11-11');
    await settle();
    stop();
    // The last viewer left: every replica's batches would still be read for the life of the process.
    announce('12-12');
    announce('13-13');
    await settle();
    expect(ranges).toEqual(['11-11']);
    tail.subscribe((rows) => seen.push(...rows.map((row) => row.id)));
    announce('14-14');
    await settle();
    expect(ranges).toEqual(['11-11', '14-14']);
    expect(seen).toEqual(['11', '14']);
  });
});
