import { createServer, type Server, type Socket } from 'node:net';
import { runCommand } from './support/command-process';

describe('operator commands against a database address that takes the connection and never answers (real processes)', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  let url: string;

  beforeAll(async () => {
    // A stalled pooler or a half-dead load balancer: the TCP connection is accepted, and nothing is ever said.
    silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    url = `postgres://postgres@127.0.0.1:${address.port}/test`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it.each([
    ['deliveries.cli.js', ['list']],
    ['console-sessions.cli.js', ['end', 'dave']],
  ])(
    '%s %s fails with exit 1 and says why, instead of waiting for good',
    async (file, args) => {
      // Before, the command waited for good: killed at 40 s, its code is null and the test fails on it.
      const { code, stderr } = await runCommand(file, args, { DATABASE_URL: url, NODE_ENV: 'development' }, 40_000);
      expect(code).toBe(1);
      expect(stderr).toMatch(/timeout/i);
    },
    60_000,
  );
});
