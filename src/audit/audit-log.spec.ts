import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../config';
import type { Metrics } from '../observability/metrics';
import { collectedPoints, metricsForTest } from '../observability/testing/collected-metrics';
import type { AuditEvent } from './audit-event.entity';
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

describe('AuditLog when rows cannot be written', () => {
  const config = loadConfig({ DATABASE_URL: 'postgres://unused/x', LOG_LEVEL: 'fatal' }, '/srv');
  const refusing = {
    getRepository: () => ({ insert: () => Promise.reject(new Error('connection refused')) }),
  } as unknown as DataSource;

  const metricsOn = metricsForTest;

  async function lost(metrics: Metrics): Promise<number> {
    const points = await collectedPoints(metrics, 'audit_events_lost_total');
    return points.reduce((sum, point) => sum + (point.value as number), 0);
  }

  let errors: jest.SpyInstance;
  beforeEach(() => {
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('counts the rows a full queue pushes out (audit_events_lost_total), with one log line, not one per row', async () => {
    const metrics = metricsOn();
    const audit = new AuditLog(refusing, config, metrics);
    for (let i = 0; i < 12_000; i++) {
      audit.record({ event: 'sys_config_reload', outcome: 'success', reason: 'tls', detail: String(i) });
    }
    expect(await lost(metrics)).toBe(2000);
    const full = errors.mock.calls.filter(([message]) => String(message).startsWith('Audit queue is full'));
    expect(full).toHaveLength(1);
    await metrics.onApplicationShutdown();
  });

  it('says and counts what is left unwritten at shutdown, also when the database refused it at once', async () => {
    const metrics = metricsOn();
    const audit = new AuditLog(refusing, config, metrics);
    for (let i = 0; i < 3; i++) audit.record({ event: 'sys_config_reload', outcome: 'success', reason: 'tls' });
    await audit.beforeApplicationShutdown();
    expect(errors.mock.calls.map(([message]) => String(message))).toContain(
      '3 audit event(s) not written: the database refused them',
    );
    expect(await lost(metrics)).toBe(3);
    await metrics.onApplicationShutdown();
  });

  it("stores a dual-stack listener's IPv4 peer as the IPv4 address the source search looks for", async () => {
    const inserted: AuditEvent[] = [];
    const recording = {
      getRepository: () => ({ insert: (rows: AuditEvent[]) => (inserted.push(...rows), Promise.resolve()) }),
    } as unknown as DataSource;
    const audit = new AuditLog(recording, config);
    audit.record({ event: 'authn_login_fail', outcome: 'failure', remoteAddress: '::ffff:198.51.100.7' });
    audit.record({ event: 'authn_login_fail', outcome: 'failure', remoteAddress: '2001:DB8::1' });
    await audit.flush();
    expect(inserted.map((row) => row.remoteAddress)).toEqual(['198.51.100.7', '2001:db8::1']);
  });
});
