import type { DataSource } from 'typeorm';
import { loadConfig } from '../config';
import { AuditLog, clean } from './audit-log';

describe('clean (every text an audit row stores)', () => {
  it('replaces control characters and line separators, so a value cannot forge a line of an export or a log', () => {
    expect(clean('evil\r\nforged-line\u0000\u007f\u2028\u2029end', 200)).toBe('evil??forged-line????end');
  });

  it('cuts a long value to its column with an ellipsis, and stores nothing for an empty one', () => {
    expect(clean('x'.repeat(10), 5)).toBe('xxxx…');
    expect(clean('fits', 5)).toBe('fits');
    expect(clean('', 5)).toBeNull();
    expect(clean(undefined, 5)).toBeNull();
  });
});

describe('AuditLog while the database does not answer', () => {
  const config = loadConfig({ DATABASE_URL: 'postgres://unused/x', LOG_LEVEL: 'fatal' }, '/srv');
  let inserts = 0;
  // Every insert hangs, as on a database host that drops packets.
  const silentDatabase = {
    getRepository: () => ({ insert: () => ((inserts += 1), new Promise<never>(() => undefined)) }),
  } as unknown as DataSource;

  beforeEach(() => {
    inserts = 0;
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('runs one write and keeps one waiting, however many events and flushes come meanwhile', async () => {
    // Each insert fails after a second, as on a connect timeout.
    const timingOut = {
      getRepository: () => ({
        insert: () => (
          (inserts += 1),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000))
        ),
      }),
    } as unknown as DataSource;
    const audit = new AuditLog(timingOut, config);
    // Past a batch's worth, each event asks for a flush (and the timer every 500 ms).
    for (let i = 0; i < 1000; i++) {
      audit.record({ event: 'sys_config_reload', outcome: 'success', reason: 'tls', detail: String(i) });
    }
    let flushed = false;
    void audit.flush().then(() => (flushed = true));
    // Every flush asked for while the write had not started joined it: one attempt, failed at 1 s (the rows stay
    // queued for the next). A write per flush asked for would have queued 800 attempts, a second each, ahead of it.
    await jest.advanceTimersByTimeAsync(1000);
    expect(flushed).toBe(true);
    expect(inserts).toBe(1);
  });

  it('gives the last rows up at shutdown after a bounded wait, instead of holding the exit', async () => {
    const audit = new AuditLog(silentDatabase, config);
    audit.record({ event: 'sys_config_reload', outcome: 'success', reason: 'tls' });
    let closed = false;
    void audit.beforeApplicationShutdown().then(() => (closed = true));
    await jest.advanceTimersByTimeAsync(4999);
    expect(closed).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(closed).toBe(true);
  });
});
