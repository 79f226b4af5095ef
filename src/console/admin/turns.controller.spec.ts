import type { MessageEvent } from '@nestjs/common';
import type { TurnFilter, TurnLogQueries, TurnRow } from '../turn-log/turn-log.queries';
import type { GapSubscriber, TurnSubscriber, TurnTail } from '../turn-log/turn-tail';
import { AppError } from '../../common/errors/app-error';
import type { ConsoleAudit } from './console-audit';
import type { LocalInstance } from './local-instance';
import type { DatabasePool } from '../../database/database-pool';
import { SessionRevocations } from '../sessions/session-revocations';
import type { AdminPrincipal, AdminRequest } from './admin-principal';
import { TurnsController } from './turns.controller';

const row = (id: number): TurnRow =>
  ({
    id: String(id),
    at: new Date(0),
    requestId: `req-${id}`,
    platform: 'generic',
    intent: 'GetAccountBalance',
    callerId: 'bot',
    outcome: 'fulfilled',
    durationMs: 1,
    budgetMs: 5000,
  }) as unknown as TurnRow;

/** The live tail as a test drives it, and the turn log read that resumes a stream, answered when the test says. */
function harness() {
  const subscribers = new Set<TurnSubscriber>();
  const gapSubscribers = new Set<GapSubscriber>();
  const tail = {
    subscribe: (subscriber: TurnSubscriber, onGap: GapSubscriber) => {
      subscribers.add(subscriber);
      gapSubscribers.add(onGap);
      return () => {
        subscribers.delete(subscriber);
        gapSubscribers.delete(onGap);
      };
    },
  } as unknown as TurnTail;
  let answer!: (rows: TurnRow[]) => void;
  let fail!: (error: Error) => void;
  const afterCalls: string[] = [];
  const queries = {
    search: (filter: TurnFilter) => {
      afterCalls.push(String(filter.afterId));
      return new Promise<TurnRow[]>((resolve, reject) => {
        answer = resolve;
        fail = reject;
      });
    },
  } as unknown as TurnLogQueries;
  // Revocations kept by a pool that records the revoked ids (what the table would hold), or a pool that is down.
  const revoked = new Set<string>();
  const revocationReads: string[] = [];
  let databaseDown = false;
  const pool = {
    run: (statement: { name: string }, [sessionId]: [string]) => {
      if (statement.name === 'console_session_is_revoked') revocationReads.push(sessionId);
      if (databaseDown) return Promise.reject(new Error('connection refused'));
      if (statement.name === 'console_session_revoke') revoked.add(sessionId);
      return Promise.resolve(statement.name === 'console_session_is_revoked' && revoked.has(sessionId) ? [{}] : []);
    },
  } as unknown as DatabasePool;
  const revocations = new SessionRevocations(pool);
  const controller = new TurnsController(queries, tail, {} as LocalInstance, {} as ConsoleAudit, revocations);
  const live = (...ids: number[]) => subscribers.forEach((subscriber) => subscriber(ids.map(row)));
  return {
    controller,
    live,
    afterCalls,
    revocations,
    revocationReads,
    subscribers,
    tailLostTurns: () => gapSubscribers.forEach((onGap) => onGap()),
    // The search answers newest first.
    answer: (...ids: number[]) => answer(ids.map(row).reverse()),
    takeDatabaseDown: () => (databaseDown = true),
    fail: () => fail(new Error('gone')),
  };
}

const LOCAL = {} as AdminRequest;
const signedIn = (expiresAt: number, sessionId = 'session-1'): AdminRequest =>
  ({
    principal: { subject: 's', name: 'S', roles: ['viewer'], via: 'oidc', sessionId, expiresAt },
  }) as { principal: AdminPrincipal } as AdminRequest;

/** The error `open` throws, or a failure when it throws none. */
function refusal(open: () => unknown): AppError {
  try {
    open();
  } catch (error: unknown) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('not refused');
}

function eventIds(events: MessageEvent[]): string[] {
  return events.filter((event) => event.type === 'turn').map((event) => String(event.id));
}

describe('TurnsController stream', () => {
  it('sends the missed turns first, then the live ones that came meanwhile, each once', async () => {
    const { controller, live, afterCalls, answer } = harness();
    const events: MessageEvent[] = [];
    const subscription = controller.stream({}, LOCAL, '10').subscribe((event) => events.push(event));
    // Committed while the missed turns are read: the read and the tail both hold turn 12.
    live(12, 13);
    expect(events).toEqual([]);
    answer(11, 12);
    await Promise.resolve();
    live(14);
    // A batch read by the tail after the missed turns, though it committed before their read.
    live(11);
    expect(afterCalls).toEqual(['10']);
    expect(eventIds(events)).toEqual(['11', '12', '13', '14']);
    subscription.unsubscribe();
  });

  it('applies the time filters and the cursor to live turns as the search does: a stream "until" a past time sends none', () => {
    const { controller, subscribers } = harness();
    const at = (id: number, iso: string): TurnRow => ({ ...row(id), at: new Date(iso) });
    const received = (query: Record<string, string>): string[] => {
      const events: MessageEvent[] = [];
      const subscription = controller.stream(query, LOCAL).subscribe((event) => events.push(event));
      subscribers.forEach((subscriber) =>
        subscriber([at(7, '2026-12-05T10:00:00Z'), at(8, '2026-12-05T12:00:00Z'), at(9, '2026-12-05T14:00:00Z')]),
      );
      subscription.unsubscribe();
      return eventIds(events);
    };
    expect(received({ to: '2020-01-01T00:00:00Z' })).toEqual([]);
    expect(received({ from: '2026-12-05T11:00:00Z' })).toEqual(['8', '9']);
    expect(received({ from: '2026-12-05T11:00:00Z', to: '2026-12-05T14:00:00Z' })).toEqual(['8']);
    expect(received({ before: '9' })).toEqual(['7', '8']);
  });

  it('says there is a gap, then sends the live turns it held, when the missed ones cannot be read', async () => {
    const { controller, live, fail } = harness();
    const events: MessageEvent[] = [];
    const subscription = controller.stream({}, LOCAL, '10').subscribe((event) => events.push(event));
    live(12);
    fail();
    await new Promise((resolve) => setImmediate(resolve));
    live(13);
    expect(events[0].type).toBe('gap');
    expect(eventIds(events)).toEqual(['12', '13']);
    subscription.unsubscribe();
  });

  it('passes live turns straight through without a Last-Event-ID, or with one that is no turn id', () => {
    for (const lastEventId of [undefined, 'abc']) {
      const { controller, live, afterCalls } = harness();
      const events: MessageEvent[] = [];
      const subscription = controller.stream({}, LOCAL, lastEventId).subscribe((event) => events.push(event));
      live(5);
      expect(eventIds(events)).toEqual(['5']);
      expect(afterCalls).toEqual([]);
      subscription.unsubscribe();
    }
  });

  it('ends when its session is signed out on this replica, and sends no turn after', async () => {
    const { controller, live, revocations, subscribers } = harness();
    const events: MessageEvent[] = [];
    let ended = false;
    controller
      .stream({}, signedIn(Date.now() + 3_600_000))
      .subscribe({ next: (event) => events.push(event), complete: () => (ended = true) });
    live(1);
    await revocations.revoke('another-session', new Date());
    expect(ended).toBe(false);
    await revocations.revoke('session-1', new Date());
    expect(ended).toBe(true);
    live(2);
    expect(eventIds(events)).toEqual(['1']);
    expect(subscribers.size).toBe(0);
  });

  it('ends at a heartbeat when whether its session was signed out cannot be read (the guard decides on reconnect)', async () => {
    jest.useFakeTimers();
    try {
      const { controller, takeDatabaseDown } = harness();
      const events: MessageEvent[] = [];
      let ended = false;
      controller
        .stream({}, signedIn(Date.now() + 3_600_000))
        .subscribe({ next: (event) => events.push(event), complete: () => (ended = true) });
      await jest.advanceTimersByTimeAsync(15_000);
      expect(events.map((event) => event.type)).toEqual(['ping']);
      takeDatabaseDown();
      await jest.advanceTimersByTimeAsync(15_000);
      expect(ended).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ends when its session expires', async () => {
    const { controller } = harness();
    let ended = false;
    controller.stream({}, signedIn(Date.now() + 50)).subscribe({ complete: () => (ended = true) });
    expect(ended).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(ended).toBe(true);
  });

  it('passes on that the live tail lost turns as a gap event (the browser reloads its list)', () => {
    const { controller, live, tailLostTurns } = harness();
    const events: MessageEvent[] = [];
    const subscription = controller.stream({}, LOCAL).subscribe((event) => events.push(event));
    live(5);
    tailLostTurns();
    live(9);
    expect(events.map((event) => event.type)).toEqual(['turn', 'gap', 'turn']);
    subscription.unsubscribe();
  });

  it('holds no more live turns than it resends while the missed ones are read: past that, it drops them and says there is a gap', async () => {
    const { controller, live, answer } = harness();
    const events: MessageEvent[] = [];
    const subscription = controller.stream({}, LOCAL, '10').subscribe((event) => events.push(event));
    for (let id = 100; id < 100 + 501; id++) live(id);
    live(700);
    answer(11);
    await Promise.resolve();
    expect(events[0].type).toBe('gap');
    expect(eventIds(events)).toEqual(['11', '700']);
    subscription.unsubscribe();
  });

  it("refuses a session's fourth stream with 429 and Retry-After; closing one gives its place back", () => {
    const { controller } = harness();
    const session = signedIn(Date.now() + 3_600_000);
    const open = () => controller.stream({}, session).subscribe(() => undefined);
    const streams = [open(), open(), open()];
    const refused = refusal(open);
    expect(refused.code).toBe('RATE_LIMITED');
    expect(refused.message).toContain('3 live tails open');
    expect(refused.headers).toEqual({ 'Retry-After': '15' });
    // Another session is not held back by this one's.
    controller
      .stream({}, signedIn(Date.now() + 3_600_000, 'session-2'))
      .subscribe(() => undefined)
      .unsubscribe();
    streams[0].unsubscribe();
    streams[0] = open();
    expect(refusal(open).code).toBe('RATE_LIMITED');
    streams.forEach((stream) => stream.unsubscribe());
  });

  it('gives a place back when the connection closes before its stream started (the client left during the guard)', () => {
    const { controller } = harness();
    const session = signedIn(Date.now() + 3_600_000);
    for (let i = 0; i < 5; i++) {
      const closed = new AbortController();
      controller.stream({}, session, undefined, closed.signal);
      closed.abort();
    }
    const gone = new AbortController();
    gone.abort();
    controller.stream({}, session, undefined, gone.signal);
    expect(() =>
      controller
        .stream({}, session)
        .subscribe(() => undefined)
        .unsubscribe(),
    ).not.toThrow();
  });

  it('refuses a stream with 503 when the console serves 50 already, whoever opened them', () => {
    const { controller } = harness();
    const streams = Array.from({ length: 50 }, (_, index) =>
      controller.stream({}, signedIn(Date.now() + 3_600_000, `session-${index}`)).subscribe(() => undefined),
    );
    const refused = refusal(() => controller.stream({}, signedIn(Date.now() + 3_600_000, 'session-new')));
    expect(refused.code).toBe('OVERLOADED');
    expect(refused.headers['Retry-After']).toBeDefined();
    streams.pop()!.unsubscribe();
    controller
      .stream({}, signedIn(Date.now() + 3_600_000, 'session-new'))
      .subscribe(() => undefined)
      .unsubscribe();
    streams.forEach((stream) => stream.unsubscribe());
  });

  it('reads whether a session was signed out once per heartbeat for all of its streams, and ends them all when it was', async () => {
    jest.useFakeTimers();
    try {
      const { controller, revocationReads, revocations } = harness();
      const ended: number[] = [];
      const pings: number[] = [];
      const open = (index: number, sessionId: string) =>
        controller.stream({}, signedIn(Date.now() + 3_600_000, sessionId)).subscribe({
          next: (event) => event.type === 'ping' && pings.push(index),
          complete: () => ended.push(index),
        });
      open(0, 'session-1');
      open(1, 'session-1');
      open(2, 'session-1');
      open(3, 'session-2');
      await jest.advanceTimersByTimeAsync(15_000);
      expect(revocationReads.sort()).toEqual(['session-1', 'session-2']);
      expect(pings.sort()).toEqual([0, 1, 2, 3]);
      // Signed out on another replica: this one finds it at the next heartbeat.
      await (revocations as unknown as { pool: DatabasePool }).pool.run(
        { name: 'console_session_revoke' } as never,
        ['session-1', new Date()] as never,
      );
      await jest.advanceTimersByTimeAsync(15_000);
      expect(revocationReads).toHaveLength(4);
      expect(ended.sort()).toEqual([0, 1, 2]);
      expect(() => open(4, 'session-1')).not.toThrow();
    } finally {
      jest.useRealTimers();
    }
  });
});
