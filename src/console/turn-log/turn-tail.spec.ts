import type { PgNotifications } from '../../database/pg-notifications';
import type { TurnLogQueries, TurnRow } from './turn-log.queries';
import { TurnTail } from './turn-tail';

/**
 * A tail on a channel the test announces batches on, over a turn log of the turns announced, whose reads it
 * counts; a range read fails as often as `failRanges` says first.
 */
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
  const catchUps: string[] = [];
  let rangeFailures = 0;
  let newest = 10;
  const ids = (first: number, last: number) =>
    Array.from({ length: last - first + 1 }, (_, index) => ({ id: String(first + index) }) as TurnRow);
  const queries = {
    latestId: () => Promise.resolve('10'),
    range: (first: string, last: string) => {
      ranges.push(`${first}-${last}`);
      if (rangeFailures > 0) {
        rangeFailures--;
        return Promise.reject(new Error('connection terminated'));
      }
      return Promise.resolve(ids(Number(first), Number(last)));
    },
    after: (afterId: string) => {
      catchUps.push(afterId);
      return Promise.resolve(ids(Number(afterId) + 1, newest));
    },
  } as unknown as TurnLogQueries;
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    tail: new TurnTail(notifications, queries),
    announce: (batch: string) => {
      newest = Math.max(newest, Number(batch.split('-')[1]));
      announce(batch);
    },
    ranges,
    catchUps,
    settle,
    failRanges: (times: number) => (rangeFailures = times),
  };
}

/** What a subscriber is handed: turn ids, and `gap` where it is told it missed some. */
function watch(tail: TurnTail): string[] {
  const seen: string[] = [];
  tail.subscribe(
    (rows) => seen.push(...rows.map((row) => row.id)),
    () => seen.push('gap'),
  );
  return seen;
}

describe('TurnTail', () => {
  afterEach(() => jest.useRealTimers());

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

  it('reads a batch again when its read fails, and hands it out in order', async () => {
    jest.useFakeTimers();
    const { tail, announce, ranges, failRanges } = harness();
    const seen = watch(tail);
    await jest.advanceTimersByTimeAsync(0);
    failRanges(1);
    announce('11-12');
    announce('13-13');
    await jest.advanceTimersByTimeAsync(5_000);
    expect(ranges).toEqual(['11-12', '11-12', '13-13']);
    expect(seen).toEqual(['11', '12', '13']);
  });

  it('tells its subscribers of a gap when a batch cannot be read at all, then catches up from the last turn it handed out', async () => {
    jest.useFakeTimers();
    const { tail, announce, catchUps, failRanges } = harness();
    const seen = watch(tail);
    await jest.advanceTimersByTimeAsync(0);
    announce('11-11');
    await jest.advanceTimersByTimeAsync(0);
    failRanges(3);
    announce('12-13');
    await jest.advanceTimersByTimeAsync(5_000);
    expect(seen).toEqual(['11', 'gap']);
    // The next batch's read covers the lost one: the tail read from where it was, not from after the lost batch.
    announce('14-14');
    await jest.advanceTimersByTimeAsync(5_000);
    expect(catchUps).toEqual(['10']);
    expect(seen).toEqual(['11', 'gap', '12', '13', '14']);
    announce('15-15');
    await jest.advanceTimersByTimeAsync(5_000);
    expect(catchUps).toEqual(['10']);
    expect(seen).toEqual(['11', 'gap', '12', '13', '14', '15']);
  });
});
