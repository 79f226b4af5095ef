import { ConnectionUrlError } from './connection-url';
import { parseDatabaseUrl, serverName, serverUrl } from './database-url';

describe('parseDatabaseUrl', () => {
  it('leaves a URL with one server and no target_session_attrs exactly as it was', () => {
    for (const url of [
      'postgres://app:p%40ss@db.internal:5432/app?sslmode=verify-full&sslrootcert=/etc/ca.crt',
      'postgresql://app@localhost/app',
      'postgres://%2Fvar%2Frun%2Fpostgresql/app',
    ]) {
      expect(parseDatabaseUrl(url)).toEqual({ url });
    }
  });

  it('reads the servers in order, with the default port, IPv6 in brackets and percent-encoded hosts', () => {
    const { url, servers } = parseDatabaseUrl('postgres://u:p@a,[::1]:6543,b%2Dc:7/d#x');
    expect(servers?.list).toEqual([
      { host: 'a', port: 5432 },
      { host: '::1', port: 6543 },
      { host: 'b-c', port: 7 },
    ]);
    expect(servers?.target).toBe('any');
    expect(url).toBe('postgres://u:p@a:5432/d#x');
    expect(servers && servers.list.map((server) => serverUrl(servers, server))).toEqual([
      'postgres://u:p@a:5432/d#x',
      'postgres://u:p@[::1]:6543/d#x',
      'postgres://u:p@b-c:7/d#x',
    ]);
    expect(servers?.list.map(serverName)).toEqual(['a:5432', '[::1]:6543', 'b-c:7']);
  });

  it('takes target_session_attrs out of the query, wherever it is, keeping the other parameters verbatim', () => {
    expect(parseDatabaseUrl('postgres://u@h/d?target_session_attrs=primary')).toMatchObject({
      url: 'postgres://u@h:5432/d',
      servers: { list: [{ host: 'h', port: 5432 }], target: 'primary' },
    });
    expect(
      parseDatabaseUrl('postgres://u@h1,h2/d?sslmode=require&target_session_attrs=read-write&application_name=a%20b'),
    ).toMatchObject({
      url: 'postgres://u@h1:5432/d?sslmode=require&application_name=a%20b',
      servers: { target: 'read-write' },
    });
    expect(parseDatabaseUrl('postgres://u@h1,h2/d?target_session_attrs=any').url).toBe('postgres://u@h1:5432/d');
  });

  it('keeps a password holding @ and the user out of the server list', () => {
    const { servers } = parseDatabaseUrl('postgres://us%40er:p@ss@h1:1,h2:2/d');
    expect(servers?.list.map(serverName)).toEqual(['h1:1', 'h2:2']);
    expect(servers?.around.before).toBe('postgres://us%40er:p@ss@');
  });

  it('refuses what it cannot use, saying why', () => {
    const refusals: [string, RegExp][] = [
      ['postgres://u@h1,h2/d?target_session_attrs=read-only', /read-only cannot be used.*DATABASE_REPLICA_URLS/],
      ['postgres://u@h1/d?target_session_attrs=prefer-standby', /prefer-standby cannot be used/],
      ['postgres://u@h1/d?target_session_attrs=writable', /must be one of any, read-write, primary \(got "writable"\)/],
      ['postgres://u@h1,/d', /an empty server/],
      ['postgres://u@h1,h2:x/d', /cannot read server 2 of the list/],
      ['postgres://u@h1,h2:0/d', /the port of server 2 of the list is not a port number/],
      ['postgres://u@h1,[::1/d', /cannot read server 2 of the list/],
      ['mysql://u@h1,h2/d', /must be a postgres:\/\/ or postgresql:\/\/ URL/],
      // One server gets the checks of a list's servers, and every URL is read as pg and TypeORM will read it.
      ['postgres://u:pw@h:99999/d', /^the port is not a port number \(1-65535\)/],
      ['postgres://u:pw@h:x/d', /^cannot read the host and port/],
      ['postgres://u:p#w@h/d', /^cannot read the host and port/],
      ['postgres://u:1/pw@h/d', /^has an @ after the host/],
      ['postgres://u:p%w@h/d', /^holds a % that starts no percent-escape/],
      ['postgres://u:p%C3%28@h/d', /^cannot be read as a URL/],
      ['postgres://u:1/pw@h1,h2/d', /^has an @ after the host/],
      ['postgres://u:p%w@h1,h2/d', /^holds a % that starts no percent-escape/],
    ];
    for (const [url, message] of refusals) {
      expect(() => parseDatabaseUrl(url)).toThrow(ConnectionUrlError);
      expect(() => parseDatabaseUrl(url)).toThrow(message);
    }
  });
});
