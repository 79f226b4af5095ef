import { SystemClock } from '../../common/clock';
import { loadConfig } from '../../config';
import { BasicBackoff } from './basic-backoff';

describe('BasicBackoff (in process)', () => {
  const backoff = (env: Record<string, string>) => new BasicBackoff(loadConfig(env, '/srv'), new SystemClock());

  it("keeps a configured username's count through a spray of made-up usernames that fills the counters", async () => {
    const counters = backoff({ BASIC_AUTH_MAX_FAILURES: '2' });
    for (let i = 0; i < 2; i++) (await counters.admit('payments-bot', true))?.settle('failed');
    expect(await counters.admit('payments-bot', true)).toBeUndefined();
    // 100,001 made-up usernames: the oldest windows are forgotten to stay bounded.
    for (let index = 0; index <= 100_000; index++) (await counters.admit(`made-up-${index}`))?.settle('failed');
    // Before, the real username's window went with them, and its guesser had a fresh one.
    expect(await counters.admit('payments-bot', true)).toBeUndefined();
    await counters.onApplicationShutdown();
  });

  it('counts wrong passwords only: right ones and checks never made give their place back', async () => {
    const counters = backoff({ BASIC_AUTH_MAX_FAILURES: '2' });
    for (let i = 0; i < 5; i++) (await counters.admit('payments-bot', true))?.settle('passed');
    for (let i = 0; i < 5; i++) (await counters.admit('payments-bot', true))?.settle('unchecked');
    (await counters.admit('payments-bot', true))?.settle('failed');
    const last = await counters.admit('payments-bot', true);
    expect(last).toBeDefined();
    last?.settle('failed');
    expect(await counters.admit('payments-bot', true)).toBeUndefined();
  });

  it('holds an attempt while the checks in flight could use up the limit, and lets it in once one passes', async () => {
    const counters = backoff({ BASIC_AUTH_MAX_FAILURES: '2' });
    const [first, second] = [await counters.admit('payments-bot', true), await counters.admit('payments-bot', true)];
    let third: unknown = 'waiting';
    const waiting = counters.admit('payments-bot', true).then((ticket) => (third = ticket));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(third).toBe('waiting');
    first?.settle('passed');
    await waiting;
    expect(third).toBeDefined();
    expect(third).not.toBe('waiting');
    second?.settle('failed');
  });

  it('refuses a waiting attempt once the checks it waited for were wrong passwords', async () => {
    const counters = backoff({ BASIC_AUTH_MAX_FAILURES: '2' });
    // Longer than the test's own time limit: the verdict must come from the checks ending, not from giving up.
    counters['waitMs'] = 60_000;
    const tickets = [await counters.admit('payments-bot', true), await counters.admit('payments-bot', true)];
    // Both end while the attempt's first "wait" is on its way to it, before it waits. Before, it slept through
    // the wake-up it missed: the caller had its 401 after the whole wait (10 s in service).
    const waiting = counters.admit('payments-bot', true);
    for (const ticket of tickets) ticket?.settle('failed');
    await expect(waiting).resolves.toBeUndefined();
  });

  it('refuses a waiting attempt whose checks end after it began to wait', async () => {
    const counters = backoff({ BASIC_AUTH_MAX_FAILURES: '2' });
    counters['waitMs'] = 60_000;
    const tickets = [await counters.admit('payments-bot', true), await counters.admit('payments-bot', true)];
    const waiting = counters.admit('payments-bot', true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const ticket of tickets) ticket?.settle('failed');
    await expect(waiting).resolves.toBeUndefined();
  });

  it('answers 503 to an attempt that waited too long for checks that did not end, and to one past the waiting room', async () => {
    const counters = backoff({ BASIC_AUTH_MAX_FAILURES: '1', BASIC_AUTH_MAX_CONCURRENT_CHECKS: '1' });
    // 10 s in service (as long as a check holds its place); shorter here.
    counters['waitMs'] = 300;
    const stuck = await counters.admit('payments-bot', true);
    const started = performance.now();
    // Eight may wait (8 per BASIC_AUTH_MAX_CONCURRENT_CHECKS slot); the ninth is answered at once.
    const waiting = Array.from({ length: 8 }, () =>
      counters.admit('payments-bot', true).catch((error: unknown) => error),
    );
    await expect(counters.admit('payments-bot', true)).rejects.toMatchObject({
      code: 'OVERLOADED',
      headers: { 'Retry-After': '1' },
    });
    for (const outcome of await Promise.all(waiting)) expect(outcome).toMatchObject({ code: 'OVERLOADED' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    stuck?.settle('passed');
    expect(await counters.admit('payments-bot', true)).toBeDefined();
  });
});
