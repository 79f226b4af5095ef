import { SessionRevocations } from '../../src/console/sessions/session-revocations';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

const HOUR = 3_600_000;

describe('ending all console sessions of a person, on PostgreSQL', () => {
  let db: MediumDatabase;
  /** Two replicas: each its own SessionRevocations over the one database. */
  let here: SessionRevocations;
  let there: SessionRevocations;

  beforeEach(async () => {
    db = await mediumDatabase();
    here = new SessionRevocations(db.pool);
    there = new SessionRevocations(db.pool);
  });
  afterEach(() => db.close());

  it('ends the sessions the subject signed in before the instant, on every replica, and none signed in after', async () => {
    const endedAt = Date.now();
    const earlier = { sessionId: 's-earlier', subject: 'dave', signedInAt: endedAt - HOUR };
    const later = { sessionId: 's-later', subject: 'dave', signedInAt: endedAt + 1 };
    const someoneElse = { sessionId: 's-eve', subject: 'eve', signedInAt: endedAt - HOUR };
    // A cookie sealed before sign-in times were kept: taken as signed in before any ending.
    const unknownSignIn = { sessionId: 's-unknown', subject: 'dave' };
    expect(await there.isRevoked(earlier)).toBe(false);

    await here.endSessionsOf('dave', new Date(endedAt));
    expect(await there.isRevoked(earlier)).toBe(true);
    expect(await there.isRevoked(unknownSignIn)).toBe(true);
    expect(await there.isRevoked(later)).toBe(false);
    expect(await there.isRevoked(someoneElse)).toBe(false);
    // A live tail checks again by its session's id alone.
    expect(await there.isRevoked('s-earlier')).toBe(true);
    expect(await there.isRevoked('s-later')).toBe(false);
  });

  it('keeps the latest ending of a subject, and the row until no session it ended can still be alive', async () => {
    const endedAt = Date.now();
    await here.endSessionsOf('dave', new Date(endedAt));
    await there.endSessionsOf('dave', new Date(endedAt - 2 * HOUR));
    const signedInBetween = { sessionId: 's-between', subject: 'dave', signedInAt: endedAt - HOUR };
    expect(await here.isRevoked(signedInBetween)).toBe(true);
    expect(await here.purgeExpired(10)).toBe(0);
    const [row] = await db.query<{ expires_at: Date }>('SELECT expires_at FROM console_revoked_sessions');
    expect(row.expires_at.getTime()).toBe(endedAt + 7 * 24 * HOUR);
  });

  it("takes the instant from the database's clock, not the ender's (a workstation's minutes behind)", async () => {
    const [{ now }] = await db.query<{ now: Date }>('SELECT now() AS now');
    // Signed in a minute ago on a replica; the ending runs on a machine whose clock is 3 minutes slow.
    const minuteAgo = { sessionId: 's-minute-ago', subject: 'dave', signedInAt: now.getTime() - 60_000 };
    jest.useFakeTimers({
      now: now.getTime() - 180_000,
      doNotFake: [
        'nextTick',
        'setImmediate',
        'setTimeout',
        'setInterval',
        'clearTimeout',
        'clearInterval',
        'clearImmediate',
        'queueMicrotask',
        'hrtime',
        'performance',
      ],
    });
    let ended: Date;
    try {
      ended = await here.endSessionsOf('dave');
    } finally {
      jest.useRealTimers();
    }
    expect(ended.getTime()).toBeGreaterThanOrEqual(now.getTime());
    // Before, the ender's clock was the instant: that session kept its roles.
    expect(await there.isRevoked(minuteAgo)).toBe(true);
    expect(await there.isRevoked({ sessionId: 's-after', subject: 'dave', signedInAt: ended.getTime() + 1 })).toBe(
      false,
    );
  });

  it('tells this replica’s listeners (its live tails) of each session it knows the subject had', async () => {
    const ended: string[] = [];
    here.onRevoked((sessionId) => ended.push(sessionId));
    await here.isRevoked({ sessionId: 's-1', subject: 'dave', signedInAt: Date.now() - HOUR });
    await here.isRevoked({ sessionId: 's-2', subject: 'eve', signedInAt: Date.now() - HOUR });
    await here.endSessionsOf('dave');
    expect(ended).toEqual(['s-1']);
  });

  it('lets a sign-in state be exchanged once, whichever replica is asked, and forgets it once its cookie expired', async () => {
    const until = new Date(Date.now() + 600_000);
    expect(await here.claimLoginState('state-1', until)).toBe(true);
    expect(await there.claimLoginState('state-1', until)).toBe(false);
    expect(await here.claimLoginState('state-1', until)).toBe(false);
    expect(await there.claimLoginState('state-2', new Date(Date.now() - 1000))).toBe(true);
    expect(await here.purgeExpired(10)).toBe(1);
    // Signed-out sessions and ended subjects live beside the states without meeting them.
    expect(await here.isRevoked('state-1')).toBe(false);
  });
});
