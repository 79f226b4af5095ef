import { SystemClock } from '../../common/clock';
import { loadConfig } from '../../config';
import { BasicBackoff } from './basic-backoff';

describe('BasicBackoff (in process)', () => {
  it("keeps a configured username's count through a spray of made-up usernames that fills the counters", async () => {
    const backoff = new BasicBackoff(loadConfig({ BASIC_AUTH_MAX_FAILURES: '2' }, '/srv'), new SystemClock());
    expect(await backoff.reserve('payments-bot', true)).toBe(true);
    expect(await backoff.reserve('payments-bot', true)).toBe(true);
    expect(await backoff.reserve('payments-bot', true)).toBe(false);
    // 100,001 made-up usernames: the oldest windows are forgotten to stay bounded.
    for (let index = 0; index <= 100_000; index++) await backoff.reserve(`made-up-${index}`);
    // Before, the real username's window went with them, and its guesser had a fresh one.
    expect(await backoff.reserve('payments-bot', true)).toBe(false);
    await backoff.onApplicationShutdown();
  });
});
