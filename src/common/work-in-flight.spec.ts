import { WorkInFlight } from './work-in-flight';

describe('WorkInFlight', () => {
  it('settles at once, with 0, when nothing runs', async () => {
    await expect(new WorkInFlight().settled(60_000)).resolves.toBe(0);
  });

  it('settles when the last running piece finishes, not before', async () => {
    const work = new WorkInFlight();
    work.started();
    work.started();
    let settled: number | undefined;
    const waiting = work.settled(60_000).then((left) => (settled = left));
    work.finished();
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBeUndefined();
    expect(work.size).toBe(1);
    work.finished();
    await waiting;
    expect(settled).toBe(0);
  });

  it('gives up after the time, with the number still running', async () => {
    const work = new WorkInFlight();
    work.started();
    await expect(work.settled(20)).resolves.toBe(1);
    await expect(work.settled(0)).resolves.toBe(1);
  });
});
