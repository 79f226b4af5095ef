import type { MessageEvent } from '@nestjs/common';
import type { TurnFilter, TurnLogQueries, TurnRow } from '../turn-log/turn-log.queries';
import type { TurnSubscriber, TurnTail } from '../turn-log/turn-tail';
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
  const tail = {
    subscribe: (subscriber: TurnSubscriber) => {
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
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
  let databaseDown = false;
  const pool = {
    run: (statement: { name: string }, [sessionId]: [string]) => {
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
    subscribers,
    // The search answers newest first.
    answer: (...ids: number[]) => answer(ids.map(row).reverse()),
    takeDatabaseDown: () => (databaseDown = true),
    fail: () => fail(new Error('gone')),
  };
}

const LOCAL = {} as AdminRequest;
const signedIn = (expiresAt: number): AdminRequest =>
  ({
    principal: { subject: 's', name: 'S', roles: ['viewer'], via: 'oidc', sessionId: 'session-1', expiresAt },
  }) as { principal: AdminPrincipal } as AdminRequest;

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
});
