import { loadConfig } from '../config';
import { EventLoopLoad, lateness, overloaded, SATURATED_UTILIZATION } from './event-loop-load';

describe('EventLoopLoad', () => {
  it('does not count start-up work once the server listens: restartWindow() forgets a blocked loop', async () => {
    const load = new EventLoopLoad(loadConfig({ OVERLOAD_DELAY_MS: '50' }, '/srv'));
    try {
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      await sleep(150);
      // Synchronous start-up steps, as module loading is: the loop is blocked nearly all the time, so window after
      // window holds a long delay. Each gap lets the delay monitor's 10 ms timer run: blocks chained by a 0 ms timer or
      // setImmediate never let it, and it then records nothing.
      let refusing = false;
      for (let blocked = 0; !refusing && blocked < 40; blocked += 1) {
        const until = Date.now() + 120;
        while (Date.now() < until);
        await sleep(15);
        refusing = load.refuseNow();
      }
      expect(load.delayMs).toBeGreaterThan(50);
      expect(refusing).toBe(true);
      load.restartWindow();
      expect(load.delayMs).toBe(0);
      expect(load.refuseNow()).toBe(false);
    } finally {
      load.onApplicationShutdown();
    }
  });
});

describe('EventLoopLoad after one pause', () => {
  it('does not refuse: one late window is a pause (a collection, a throttled CPU), not work piling up', async () => {
    // A limit far above what a busy test machine's own pauses reach, so only the pauses below can cross it.
    const load = new EventLoopLoad(loadConfig({ OVERLOAD_DELAY_MS: '1000' }, '/srv'));
    try {
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      // A window's delay is the 90th percentile of its ~10 samples: on a busy machine the pause's one sample can
      // share its window with enough calm ones not to show. Pauses until one shows, each after calm windows.
      let latestSeen = 0;
      let refused = false;
      for (let pause = 0; pause < 4 && latestSeen <= 1000; pause += 1) {
        await sleep(350);
        const until = Date.now() + 1_500;
        while (Date.now() < until);
        for (const deadline = Date.now() + 400; Date.now() < deadline;) {
          await sleep(5);
          latestSeen = Math.max(latestSeen, load.delayMs);
          refused ||= load.refuseNow();
        }
      }
      expect(latestSeen).toBeGreaterThan(1000);
      expect(refused).toBe(false);
    } finally {
      load.onApplicationShutdown();
    }
  });
});

describe('overloaded', () => {
  const limits = { delayMs: 200, inFlight: 128 };
  const calm = { delayMs: 5, utilization: 0.3, inFlight: 10 };

  it('is false for a calm replica', () => {
    expect(overloaded(calm, limits)).toBe(false);
  });

  it('is true when the event loop runs later than the limit', () => {
    expect(overloaded({ ...calm, delayMs: 201 }, limits)).toBe(true);
    expect(overloaded({ ...calm, delayMs: 200 }, limits)).toBe(false);
  });

  it('is true for a saturated loop with more requests in hand than the limit (a flood queued in the kernel)', () => {
    expect(overloaded({ delayMs: 20, utilization: SATURATED_UTILIZATION, inFlight: 129 }, limits)).toBe(true);
  });

  it('is false for a saturated loop with few requests in hand (a closed loop at full speed answers in time)', () => {
    expect(overloaded({ delayMs: 20, utilization: 1, inFlight: 50 }, limits)).toBe(false);
  });

  it('is false for many requests in hand on a loop with time to spare (slow handlers waiting on I/O)', () => {
    expect(overloaded({ delayMs: 20, utilization: 0.6, inFlight: 5000 }, limits)).toBe(false);
  });

  it('never refuses for a signal whose limit is 0', () => {
    expect(overloaded({ delayMs: 5000, utilization: 1, inFlight: 10_000 }, { delayMs: 0, inFlight: 0 })).toBe(false);
    expect(overloaded({ delayMs: 5000, utilization: 0.1, inFlight: 1 }, { delayMs: 0, inFlight: 128 })).toBe(false);
  });
});

describe('lateness', () => {
  const histogram = (p90Ms: number, count = 10) => ({ count, percentile: () => p90Ms * 1e6 });

  it("reads an idle loop as on time: Node's histogram holds the whole gap between its 10 ms timer's runs", () => {
    expect(lateness(histogram(10.1))).toBeCloseTo(0.1);
    expect(lateness(histogram(9.8))).toBe(0);
  });

  it('reads a loop that ran 25 ms late as 25 ms late, and an empty window as 0', () => {
    expect(lateness(histogram(35))).toBe(25);
    expect(lateness(histogram(35, 0))).toBe(0);
  });
});
