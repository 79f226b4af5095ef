import { setTimeout as sleep } from 'node:timers/promises';
import { Deadline, DeadlineReachedError } from './deadline';

describe('Deadline', () => {
  it('counts from the moment given, not from its creation', () => {
    const deadline = Deadline.after(1000, performance.now() - 400);
    expect(deadline.remainingMs).toBeGreaterThan(500);
    expect(deadline.remainingMs).toBeLessThanOrEqual(600);
    expect(Deadline.after(100, performance.now() - 200).expired).toBe(true);
    expect(Deadline.after(100, performance.now() - 200).remainingMs).toBe(0);
  });

  it('settles with the work when it finishes in time', async () => {
    await expect(Deadline.after(1000).race(Promise.resolve(7), () => new Error('late'))).resolves.toBe(7);
    await expect(Deadline.after(1000).race(Promise.reject(new Error('own')), () => new Error('late'))).rejects.toThrow(
      'own',
    );
  });

  it('rejects with the given error when the deadline comes first, and swallows the late failure', async () => {
    const work = sleep(200).then(() => {
      throw new Error('failed late');
    });
    await expect(
      Deadline.after(10).race(work, () => new DeadlineReachedError('claiming the turn')),
    ).rejects.toBeInstanceOf(DeadlineReachedError);
    await sleep(250); // an unhandled rejection here would fail the run
  });

  it('rejects at once when already expired', async () => {
    const expired = Deadline.after(0, performance.now() - 1);
    await expect(expired.race(new Promise(() => undefined), () => new Error('late'))).rejects.toThrow('late');
  });

  it('moves later by extendedBy and reports a wall-clock date', () => {
    const deadline = Deadline.after(100);
    expect(deadline.extendedBy(1000).remainingMs).toBeGreaterThan(1000);
    expect(Math.abs(deadline.toDate().getTime() - (Date.now() + 100))).toBeLessThan(50);
  });

  it('tells the time since it started, which moving it later keeps', () => {
    const deadline = Deadline.after(100, performance.now() - 250);
    expect(deadline.elapsedMs).toBeGreaterThanOrEqual(250);
    expect(deadline.elapsedMs).toBeLessThan(300);
    expect(deadline.extendedBy(1000).elapsedMs).toBeGreaterThanOrEqual(250);
  });
});
