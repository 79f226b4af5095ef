import { ConnectionGivenUpError, OpenConnections } from './open-connections';

function connection(): { abandon: jest.Mock<void, [Error]> } {
  return { abandon: jest.fn<void, [Error]>() };
}

describe('OpenConnections', () => {
  it("gives up every connection open to a server, with an error naming it and why, and no other server's", () => {
    const open = new OpenConnections();
    const [a, b, elsewhere] = [connection(), connection(), connection()];
    open.add('db-0:5432', a);
    open.add('db-0:5432', b);
    open.add('db-1:5432', elsewhere);
    expect(open.giveUp('db-0:5432', 'the probe found db-0:5432 silent: no answer within 2000 ms')).toBe(2);
    for (const given of [a, b]) {
      const [error] = given.abandon.mock.calls[0];
      expect(error).toBeInstanceOf(ConnectionGivenUpError);
      expect(error).toMatchObject({
        code: '08006',
        message: 'the connection to db-0:5432 was given up: the probe found db-0:5432 silent: no answer within 2000 ms',
      });
    }
    expect(elsewhere.abandon).not.toHaveBeenCalled();
    expect(open.count('db-1:5432')).toBe(1);
  });

  it('leaves the connections opened after the unanswered round trip began (they may reach a server that answers)', () => {
    const open = new OpenConnections();
    const [old, recent] = [connection(), connection()];
    open.add('db-0:5432', old);
    const since = open.now();
    open.add('db-0:5432', recent);
    expect(open.giveUp('db-0:5432', 'no answer within 2000 ms', since)).toBe(1);
    expect(old.abandon).toHaveBeenCalledTimes(1);
    expect(recent.abandon).not.toHaveBeenCalled();
    expect(open.count('db-0:5432')).toBe(1);
  });

  it('forgets a connection once it has ended, and gives up those opened after a verdict only at the next', () => {
    const open = new OpenConnections();
    const [ended, before, after] = [connection(), connection(), connection()];
    open.add('db-0:5432', ended);
    open.add('db-0:5432', before);
    open.delete('db-0:5432', ended);
    expect(open.giveUp('db-0:5432', 'no answer')).toBe(1);
    open.add('db-0:5432', after);
    expect(before.abandon).toHaveBeenCalledTimes(1);
    expect(after.abandon).not.toHaveBeenCalled();
    expect(ended.abandon).not.toHaveBeenCalled();
    expect(open.count('db-0:5432')).toBe(1);
  });
});
