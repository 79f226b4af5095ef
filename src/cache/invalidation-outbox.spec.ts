import { Logger } from '@nestjs/common';
import { InvalidationOutbox } from './invalidation-outbox';

describe('InvalidationOutbox', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('sends what was held meanwhile in one go, in order: a burst of writes costs a round trip, not one each', async () => {
    const batches: string[][] = [];
    let release: () => void = () => undefined;
    const outbox = new InvalidationOutbox(
      (messages) => {
        batches.push([...messages]);
        // The first round trip is slow: the rest of the burst is held behind it.
        return batches.length === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
      },
      () => 'drop everything',
    );
    const sent = [outbox.send('a')];
    for (const message of ['b', 'c', 'd']) sent.push(outbox.send(message));
    release();
    await Promise.all(sent);
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    expect(outbox.holding).toBe(false);
  });

  it('sends a batch PostgreSQL refused again, whole and in order, until it is taken', async () => {
    const batches: string[][] = [];
    const outbox = new InvalidationOutbox(
      (messages) => {
        batches.push([...messages]);
        return batches.length === 1 ? Promise.reject(new Error('connection lost')) : Promise.resolve();
      },
      () => 'drop everything',
    );
    await Promise.all([outbox.send('a'), outbox.send('b')]);
    expect(batches.at(-1)).toEqual(['a', 'b']);
    expect(outbox.holding).toBe(false);
  });
});
