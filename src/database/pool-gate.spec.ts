import { Deadline } from '../common/deadline';
import { PoolGate, PoolWaitTimeoutError } from './pool-gate';

const settled = <T>(promise: Promise<T>): Promise<'pending' | T> =>
  Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);

describe('PoolGate', () => {
  it('hands out up to the pool size at once, then makes the next wait for a slot given back', async () => {
    const gate = new PoolGate({ size: 2, laneShare: 1, maxWaitMs: 1000 });
    const first = await gate.enter('a');
    await gate.enter('b');
    const third = gate.enter('c');
    expect(await settled(third)).toBe('pending');
    expect(gate.waiting).toBe(1);

    first();
    expect(typeof (await third)).toBe('function');
    expect(gate.busy).toBe(2);
  });

  it('keeps one lane to its share of the pool, leaving the rest for other lanes', async () => {
    const gate = new PoolGate({ size: 10, laneShare: 0.5, maxWaitMs: 1000 });
    for (let index = 0; index < 5; index += 1) await gate.enter('hot');
    const sixthHot = gate.enter('hot');
    expect(await settled(sixthHot)).toBe('pending');

    // Another intent is served at once although the hot one has a turn waiting.
    for (let index = 0; index < 5; index += 1) expect(typeof (await gate.enter('other'))).toBe('function');
    expect(gate.busy).toBe(10);
  });

  it('serves waiting lanes in turn when connections are short (a busy lane cannot starve a quiet one)', async () => {
    const gate = new PoolGate({ size: 2, laneShare: 1, maxWaitMs: 1000 });
    const held = [await gate.enter('hot'), await gate.enter('hot')];
    const order: string[] = [];
    const hot = [1, 2, 3].map((n) => gate.enter('hot').then((free) => (order.push(`hot${n}`), free)));
    const quiet = gate.enter('quiet').then((free) => (order.push('quiet'), free));

    held[0]();
    (await hot[0])();
    await quiet;
    expect(order.slice(0, 2)).toEqual(['hot1', 'quiet']);
    held[1]();
    (await quiet)();
    await Promise.all(hot.slice(1));
    expect(order).toEqual(['hot1', 'quiet', 'hot2', 'hot3']);
  });

  it('gives up at the deadline with a PoolWaitTimeoutError, which names the lane and is not a connection error', async () => {
    const gate = new PoolGate({ size: 1, laneShare: 1, maxWaitMs: 60_000 });
    await gate.enter('a');
    const started = performance.now();
    const waiting = gate.enter('TransferFunds', Deadline.after(30));

    await expect(waiting).rejects.toBeInstanceOf(PoolWaitTimeoutError);
    await expect(waiting).rejects.toThrow(/TransferFunds/);
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(gate.waiting).toBe(0);
  });

  it('bounds a wait without a deadline by maxWaitMs', async () => {
    const gate = new PoolGate({ size: 1, laneShare: 1, maxWaitMs: 20 });
    await gate.enter('background');
    await expect(gate.enter('background')).rejects.toBeInstanceOf(PoolWaitTimeoutError);
  });

  it('counts a slot given back twice only once', async () => {
    const gate = new PoolGate({ size: 1, laneShare: 1, maxWaitMs: 1000 });
    const free = await gate.enter('a');
    free();
    free();
    expect(gate.busy).toBe(0);
    await gate.enter('a');
    expect(gate.busy).toBe(1);
  });
});
