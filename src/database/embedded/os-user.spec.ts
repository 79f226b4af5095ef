import { EmbeddedPostgresError } from './embedded-postgres.errors';
import { postgresOsUser } from './os-user';

type Call = [string, string[]];

function fakeSystem(users: Record<string, [number, number]>, groups: string[], canCreate = true) {
  const calls: Call[] = [];
  const exec = (command: string, args: string[]): string => {
    calls.push([command, args]);
    if (command === 'id') {
      const entry = users[args[1]];
      if (!entry) throw new Error(`id: '${args[1]}': no such user`);
      return String(args[0] === '-u' ? entry[0] : entry[1]);
    }
    if (command === 'getent') {
      if (!groups.includes(args[1])) throw new Error('not found');
      return `${args[1]}:x:999:`;
    }
    if (command === 'useradd') {
      if (!canCreate)
        throw Object.assign(new Error('useradd failed'), {
          stderr: 'useradd: cannot lock /etc/passwd; try again later.\n',
        });
      users[args.at(-1) as string] = [998, args.includes('-g') ? 999 : 998];
      return '';
    }
    throw new Error(`unexpected ${command}`);
  };
  return { exec, calls };
}

describe('postgresOsUser', () => {
  it('is the current user, without ids, when we are not root: nothing is created', () => {
    const { exec, calls } = fakeSystem({}, []);
    const user = postgresOsUser(1000, exec);
    expect(user.uid).toBeUndefined();
    expect(user.gid).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('is the existing postgres account when we are root', () => {
    const { exec, calls } = fakeSystem({ postgres: [105, 110] }, ['postgres']);
    expect(postgresOsUser(0, exec)).toEqual({ name: 'postgres', uid: 105, gid: 110 });
    expect(calls.some(([command]) => command === 'useradd')).toBe(false);
  });

  it('creates a locked system account when root has none', () => {
    const { exec, calls } = fakeSystem({}, []);
    expect(postgresOsUser(0, exec)).toEqual({ name: 'postgres', uid: 998, gid: 998 });
    const useradd = calls.find(([command]) => command === 'useradd')?.[1] ?? [];
    expect(useradd).toEqual(expect.arrayContaining(['--system', '--no-create-home', '--user-group', 'postgres']));
    expect(useradd[useradd.indexOf('--shell') + 1]).toBe('/usr/sbin/nologin');
  });

  it('joins an existing postgres group instead of failing on it', () => {
    const { exec, calls } = fakeSystem({}, ['postgres']);
    expect(postgresOsUser(0, exec)).toEqual({ name: 'postgres', uid: 998, gid: 999 });
    const useradd = calls.find(([command]) => command === 'useradd')?.[1] ?? [];
    expect(useradd).toEqual(expect.arrayContaining(['-g', 'postgres']));
    expect(useradd).not.toContain('--user-group');
  });

  it('says in one line what to do when the account cannot be created', () => {
    const { exec } = fakeSystem({}, [], false);
    let error: unknown;
    try {
      postgresOsUser(0, exec);
    } catch (caught: unknown) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EmbeddedPostgresError);
    expect((error as Error).message).toBe(
      'the embedded PostgreSQL cannot run as root and the "postgres" system user could not be created ' +
        '(useradd: cannot lock /etc/passwd; try again later.): create it (useradd --system postgres), run as a normal user, or set DATABASE_URL',
    );
    expect((error as Error).message).not.toContain('\n');
  });
});
