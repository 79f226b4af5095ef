import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Client } from 'pg';
import { type DatabaseServers, type PostgresServer } from '../../src/config';
import { type GuardedClientClass, guardedClientClass } from '../../src/database/guarded-client';
import {
  NoSuitableServerError,
  type ServerChoice,
  ServerSelector,
  UnsuitableServerError,
} from '../../src/database/server-selector';
import { FaultProxy } from '../faults/support/fault-proxy';
import { freePort } from '../support/service-process';
import { RUN_CREDENTIALS, RUN_PORT, URL_OF_RUN } from './support/run-server';
import { testPool } from './support/test-pool';

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: URL_OF_RUN.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * DATABASE_URL's servers: each a path of its own (a proxy) to the run's PostgreSQL, or a port nobody listens on.
 * `credentials` is the userinfo, `user` or `user:password`, percent-encoded as in a URL.
 */
function listed(ports: number[], target: DatabaseServers['target'], credentials = RUN_CREDENTIALS): DatabaseServers {
  return {
    list: ports.map((port) => ({ host: '127.0.0.1', port })),
    target,
    around: { before: `postgres://${credentials}@`, after: URL_OF_RUN.pathname },
  };
}

/** A selector for `servers` that records each choice, and the guarded client class that connects through it. */
function selecting(
  servers: DatabaseServers,
  onError: (error: Error) => void = () => undefined,
): { choices: ServerChoice[]; selector: ServerSelector; Guarded: GuardedClientClass } {
  const choices: ServerChoice[] = [];
  const selector = new ServerSelector(servers, (choice) => choices.push(choice));
  const Guarded = guardedClientClass({ readTimeoutMs: 3000, onError, servers: selector });
  return { choices, selector, Guarded };
}

/**
 * DATABASE_URL listing several servers (libpq's syntax), on the run's real PostgreSQL: each listed server is a TCP
 * path of its own to it, so the test can see which path a connection took, and close one as a lost host.
 */
describe('server selection (several servers in DATABASE_URL, real PostgreSQL)', () => {
  const role = `wf_medium_ro_${randomBytes(4).toString('hex')}`;
  // A password too: a server that asks for one (scram-sha-256, as the embedded one does) refuses a role without.
  const rolePassword = randomBytes(12).toString('hex');
  const asRole = `${role}:${rolePassword}`;
  let first: FaultProxy;
  let second: FaultProxy;
  let nobody: number;

  beforeAll(async () => {
    [first, second] = await Promise.all([FaultProxy.start(RUN_PORT), FaultProxy.start(RUN_PORT)]);
    nobody = await freePort();
    // A role whose sessions take no writes: a server "that takes no writes" as this role sees it.
    await admin(`CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await admin(`DROP ROLE IF EXISTS ${role}`);
  });

  const optionsFor = (servers: DatabaseServers, server: PostgresServer = servers.list[0]) => ({
    connectionString: `${servers.around.before}127.0.0.1:${server.port}${servers.around.after}`,
    connectionTimeoutMillis: 2000,
  });

  it('goes to the server that answers and suits, and stays with it', async () => {
    const servers = listed([nobody, first.port, second.port], 'read-write');
    const { choices, selector } = selecting(servers);
    const chosen = await selector.choose(optionsFor(servers));
    expect([first.port, second.port]).toContain(chosen.port);
    expect(await selector.choose(optionsFor(servers))).toBe(chosen);
    expect(choices).toHaveLength(1);
  });

  it('does not wait for a listed server whose address went silent (a lost host) before taking one that answers', async () => {
    const silent = await FaultProxy.start(RUN_PORT);
    silent.blackHole();
    try {
      const servers = listed([silent.port, first.port], 'read-write');
      const { choices, selector } = selecting(servers);
      // Asked one after another, the silent server would hold the search for its whole connect timeout and be
      // named as passed over; asked together, the one that answers is taken while the silent one still waits.
      expect(await selector.choose({ ...optionsFor(servers), connectionTimeoutMillis: 10_000 })).toEqual({
        host: '127.0.0.1',
        port: first.port,
      });
      expect(choices.map((choice) => choice.passedOver)).toEqual([[]]);
    } finally {
      await silent.close();
    }
  });

  it('answers concurrent connections with one search', async () => {
    const servers = listed([first.port, second.port], 'primary');
    const { choices, selector } = selecting(servers);
    const chosen = await Promise.all(Array.from({ length: 5 }, () => selector.choose(optionsFor(servers))));
    // Both paths suit (they reach one server): whichever answered first, every connection got the same one.
    expect(new Set(chosen.map((server) => server.port)).size).toBe(1);
    expect(choices).toHaveLength(1);
  });

  it('a pool of guarded clients moves to the next server when its own is lost, and back only when that one fails', async () => {
    const servers = listed([first.port, second.port], 'read-write');
    const lost: Error[] = [];
    const { choices, Guarded } = selecting(servers, (error) => lost.push(error));
    // The pool is told the first server only, as TypeORM is: the selector points each client where it should go.
    const pool = testPool({ ...optionsFor(servers), Client: Guarded, max: 2 });
    const proxyPorts = async (): Promise<number[]> => {
      const rows = await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]);
      expect(rows).toHaveLength(2);
      return [first.connections, second.connections];
    };
    // The second refuses at first, so that the first is chosen (the search takes whichever answers first).
    second.reset();
    try {
      const before = await proxyPorts();
      expect(before[0]).toBeGreaterThan(0);
      expect(before[1]).toBe(0);
      // The second is back, and the first server's host is lost: its connections are reset and new ones refused.
      second.heal();
      first.reset();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(lost.length).toBeGreaterThan(0);
      const after = await proxyPorts();
      expect(after[1]).toBeGreaterThan(0);
      expect(choices.map((choice) => choice.server.port)).toEqual([first.port, second.port]);
      // The first is back: connections stay where they are while their server serves.
      first.heal();
      await pool.query('SELECT 1');
      expect(choices).toHaveLength(2);
    } finally {
      first.heal();
      second.heal();
      await pool.end();
    }
  });

  it('a server that takes no writes is passed over; with none left, the error names each and why', async () => {
    await admin(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    try {
      const servers = listed([nobody, first.port], 'read-write', asRole);
      const selector = new ServerSelector(servers);
      const search = selector.choose(optionsFor(servers));
      await expect(search).rejects.toBeInstanceOf(NoSuitableServerError);
      await expect(search).rejects.toMatchObject({
        code: '08006',
        message: expect.stringMatching(
          new RegExp(
            `^no server in DATABASE_URL takes writes \\(target_session_attrs=read-write\\): ` +
              `127.0.0.1:${nobody}: .*ECONNREFUSED.*; 127.0.0.1:${first.port} takes no writes`,
          ),
        ),
      });
      // Without a target, any server that answers will do.
      const any = listed([nobody, first.port], 'any', asRole);
      expect(await new ServerSelector(any).choose(optionsFor(any))).toEqual({ host: '127.0.0.1', port: first.port });
    } finally {
      await admin(`ALTER ROLE ${role} RESET default_transaction_read_only`);
    }
  });

  it('a server chosen a moment ago that no longer suits fails the connection, and the next one searches again', async () => {
    const servers = listed([first.port, second.port], 'read-write', asRole);
    const { choices, Guarded } = selecting(servers);
    const connected = new Guarded(optionsFor(servers));
    await connected.connect();
    await connected.end();
    // The server becomes read-only for this role after it was chosen (a primary demoted, as a standby is).
    await admin(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    try {
      const refused = new Guarded(optionsFor(servers));
      await expect(refused.connect()).rejects.toBeInstanceOf(UnsuitableServerError);
      const next = new Guarded(optionsFor(servers));
      await expect(next.connect()).rejects.toBeInstanceOf(NoSuitableServerError);
    } finally {
      await admin(`ALTER ROLE ${role} RESET default_transaction_read_only`);
    }
    const again = new Guarded(optionsFor(servers));
    await again.connect();
    await again.end();
    // Chosen once before the change and once after it: a search each time, not a connection that kept the first.
    expect(choices).toHaveLength(2);
  });

  it('a write refused for want of writes makes the next connection search again', async () => {
    const servers = listed([first.port, second.port], 'read-write', asRole);
    const { choices, Guarded } = selecting(servers);
    const client = new Guarded(optionsFor(servers));
    await client.connect();
    try {
      await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
      await expect(client.query('CREATE TABLE wf_write_attempt (id int)')).rejects.toMatchObject({ code: '25006' });
    } finally {
      await client.end();
    }
    const next = new Guarded(optionsFor(servers));
    await next.connect();
    await next.end();
    expect(choices).toHaveLength(2);
  });

  it('a server that takes the login and then says nothing is given up on, so the search ends and names it', async () => {
    // Speaks just enough of the protocol to log a client in (AuthenticationOk, ReadyForQuery), then never answers.
    const silent = createServer((socket) => {
      socket.once('data', () => {
        const authenticationOk = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
        const readyForQuery = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
        socket.write(Buffer.concat([authenticationOk, readyForQuery]));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const servers = listed([port], 'read-write');
      const { selector } = selecting(servers);
      const error = await selector.choose({ ...optionsFor(servers), connectionTimeoutMillis: 500 }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(NoSuitableServerError);
      expect((error as Error).message).toContain(`127.0.0.1:${port}: did not answer within 2500 ms`);
    } finally {
      silent.close();
    }
  }, 15_000);
});
