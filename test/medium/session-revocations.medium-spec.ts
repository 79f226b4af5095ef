import { SessionRevocations } from '../../src/console/sessions/session-revocations';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

describe('console session revocations on PostgreSQL', () => {
  let db: MediumDatabase;
  let revocations: SessionRevocations;

  beforeEach(async () => {
    db = await mediumDatabase();
    revocations = new SessionRevocations(db.pool);
  });
  afterEach(() => db.close());

  it('remembers a signed-out session (once, however often it signs out) and forgets it once its cookie expired', async () => {
    await revocations.revoke('s-live', new Date(Date.now() + 3_600_000));
    await revocations.revoke('s-live', new Date(Date.now() + 3_600_000));
    await revocations.revoke('s-old', new Date(Date.now() - 1000));
    expect(await revocations.isRevoked('s-live')).toBe(true);
    expect(await revocations.isRevoked('s-other')).toBe(false);

    expect(await revocations.purgeExpired(10)).toBe(1);
    expect(await revocations.purgeExpired(10)).toBe(0);
    expect(await revocations.isRevoked('s-live')).toBe(true);
    expect(await revocations.isRevoked('s-old')).toBe(false);
  });
});
