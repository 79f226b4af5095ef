import { setTimeout as sleep } from 'node:timers/promises';
import { OneAtATime } from './one-at-a-time';

function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('OneAtATime', () => {
  it('runs work for one key one at a time, in arrival order', async () => {
    const serial = new OneAtATime();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const job = (name: string, ms: number) => () =>
      (async () => {
        running += 1;
        most = Math.max(most, running);
        log.push(`start ${name}`);
        await sleep(ms);
        log.push(`end ${name}`);
        running -= 1;
        return name;
      })();
    const results = await Promise.all([
      serial.run('a', job('1', 30)),
      serial.run('a', job('2', 5)),
      serial.run('a', job('3', 1)),
    ]);
    expect(results).toEqual(['1', '2', '3']);
    expect(most).toBe(1);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(serial.busyKeys).toBe(0);
  });

  it('runs different keys side by side', async () => {
    const serial = new OneAtATime();
    const a = gate();
    const first = serial.run('a', () => a.opened.then(() => 'a'));
    await expect(serial.run('b', () => Promise.resolve('b'))).resolves.toBe('b');
    expect(serial.busyKeys).toBe(1);
    a.open();
    await expect(first).resolves.toBe('a');
  });

  it('lets the next one run after a failure', async () => {
    const serial = new OneAtATime();
    const failed = serial.run('a', () => Promise.reject(new Error('boom')));
    const next = serial.run('a', () => Promise.resolve('next'));
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
  });

  it('drops a waiter whose signal aborts, without running its work or breaking the order behind it', async () => {
    const serial = new OneAtATime();
    const holder = gate();
    const ran: string[] = [];
    const first = serial.run('a', async () => {
      await holder.opened;
      ran.push('first');
    });
    const controller = new AbortController();
    const aborted = serial.run(
      'a',
      () => {
        ran.push('aborted');
        return Promise.resolve();
      },
      controller.signal,
    );
    const third = serial.run('a', () => {
      ran.push('third');
      return Promise.resolve();
    });
    controller.abort(new Error('gave up'));
    await expect(aborted).rejects.toThrow('gave up');
    await sleep(5);
    expect(ran).toEqual([]); // the third still waits for the first
    holder.open();
    await Promise.all([first, third]);
    expect(ran).toEqual(['first', 'third']);
    expect(serial.busyKeys).toBe(0);
  });

  it('refuses at once with an already aborted signal', async () => {
    const serial = new OneAtATime();
    const work = jest.fn(() => Promise.resolve());
    await expect(serial.run('a', work, AbortSignal.abort(new Error('late')))).rejects.toThrow('late');
    expect(work).not.toHaveBeenCalled();
    expect(serial.busyKeys).toBe(0);
  });
});
