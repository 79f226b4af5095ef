import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { generateCertificates } from './support/tls-fixtures';

const CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');
const STACK_LINE = /\n\s+at /;
const PASSWORD = 'hunter2-s3cret';

/** The migration CLI run to its end: its exit code and everything it wrote. */
function migrate(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, 'migrate'], { env: cleanEnv(env) });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('start-up refusals', () => {
  describe('connection URLs are read in full before anything starts', () => {
    it.each<[string, Record<string, string>, RegExp]>([
      [
        'a DATABASE_URL port out of range',
        { DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1:99999/app` },
        /^\s+DATABASE_URL: the port is not a port number \(1-65535\); .*percent-encoded/m,
      ],
      [
        'a DATABASE_URL password holding an unencoded #',
        { DATABASE_URL: `postgres://app:${PASSWORD}#1@127.0.0.1:5432/app` },
        /^\s+DATABASE_URL: cannot read the host and port .*must be percent-encoded \(e\.g\. \/ as %2F, # as %23, % as %25\)/m,
      ],
      [
        'a DATABASE_URL password holding an unencoded %',
        { DATABASE_URL: `postgres://app:${PASSWORD}%@127.0.0.1:5432/app` },
        /^\s+DATABASE_URL: holds a % that starts no percent-escape/m,
      ],
      [
        'the second of DATABASE_REPLICA_URLS with a bad port',
        {
          DATABASE_URL: 'postgres://app@127.0.0.1:1/app',
          DATABASE_REPLICA_URLS: `postgres://app@127.0.0.1:1/app,postgres://app:${PASSWORD}@127.0.0.1:70000/app`,
        },
        /^\s+DATABASE_REPLICA_URLS: URL 2 of the list: the port is not a port number/m,
      ],
      [
        'a REDIS_URL port out of range',
        { DATABASE_URL: 'postgres://app@127.0.0.1:1/app', REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:99999` },
        /^\s+REDIS_URL: the port is not a port number/m,
      ],
      [
        'a REDIS_URL database that is no number',
        { DATABASE_URL: 'postgres://app@127.0.0.1:1/app', REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:6379/x` },
        /^\s+REDIS_URL: the database number .* must be a non-negative integer/m,
      ],
    ])('stops the service at once on %s: one line, no password, no stack', async (_case, env, line) => {
      const service = startService({ ...env, PORT: String(await freePort()) });
      expect((await service.exited).code).toBe(1);
      const output = service.output();
      expect(output).toMatch(/^Invalid configuration:$/m);
      expect(output).toMatch(line);
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toMatch(STACK_LINE);
      expect(output).not.toMatch(/database unavailable|URIError|Invalid URL|ERR_INVALID_URL/);
    });

    it('stops the migration CLI the same way', async () => {
      const { code, output } = await migrate({ DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1:99999/app` });
      expect(code).toBe(1);
      expect(output).toMatch(/^\s+DATABASE_URL: the port is not a port number/m);
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toMatch(/TypeError|Invalid URL/);
      expect(output).not.toMatch(STACK_LINE);
    });
  });

  it('reports a number that is no number only as such', async () => {
    const service = startService({ PORT: '10s' });
    expect((await service.exited).code).toBe(1);
    expect(service.output()).toContain('  PORT: must be an integer (got "10s")\n');
    expect(service.output()).not.toMatch(/greater than|less than/);
  });

  it('warns of a variable that looks misspelt, naming the one meant, never its value', async () => {
    const service = startService({ THROTLE_LIMIT: '1200', PORT: 'abc' });
    expect((await service.exited).code).toBe(1);
    const warning = service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(warning).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'THROTLE_LIMIT is not a variable of the service and is ignored: did you mean THROTTLE_LIMIT?',
      }),
    ]);
    expect(service.output()).not.toContain('1200');
    expect(service.output()).toMatch(/^\s+PORT: must be an integer/m);
  });

  it("warns of a misspelt variable of an intent domain's or the console's own settings too", async () => {
    const service = startService({ CARIER_API_URL: 'http://127.0.0.1:9', PORT: 'abc' });
    expect((await service.exited).code).toBe(1);
    expect(service.output()).toContain(
      'CARIER_API_URL is not a variable of the service and is ignored: did you mean CARRIER_API_URL?',
    );
  });

  describe('production with callers bound to client certificates that never arrive', () => {
    let dir: string;
    let database: TestDatabase;
    let service: ServiceProcess | undefined;
    let callersFile: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'wf-refusals-'));
      database = await createTestDatabase();
      callersFile = join(dir, 'callers.yaml');
      writeFileSync(
        callersFile,
        [
          'callers:',
          '  - id: dialogflow-prod',
          '    platforms: [dialogflow-es]',
          '    auth: { bearer: { tokens: [plain-token-0123456789abcdef] } }',
          // The README's certificate-bound token.
          '  - id: bank-bot',
          '    platforms: [generic]',
          '    certificate: { uriSAN: spiffe://bank.example/ns/bots/sa/bank-bot }',
          '    auth: { bearer: { tokens: [bound-token-0123456789abcdef] } }',
          '',
        ].join('\n'),
      );
    });

    afterEach(async () => {
      await killService(service);
      service = undefined;
    });

    afterAll(async () => {
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    async function production(env: Record<string, string>): Promise<ServiceProcess> {
      service = startService({
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        CALLERS_FILE: callersFile,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        ...env,
      });
      return service;
    }

    it('refuses to start behind a TLS-terminating proxy, naming the caller, the file and the setting', async () => {
      const started = await production({ TLS_TERMINATED_BY_PROXY: 'true' });
      expect((await started.exited).code).toBe(1);
      const output = started.output();
      expect(output).toContain(
        `CALLERS_FILE ${callersFile}: caller "bank-bot" is bound to a client certificate (certificate:), which never ` +
          'reaches the service: TLS_TERMINATED_BY_PROXY=true',
      );
      expect(output).not.toMatch(/Listening on/);
      expect(output).not.toMatch(STACK_LINE);
    });

    it('refuses before it connects to the database (one reason, not the database being away)', async () => {
      const started = await production({
        TLS_TERMINATED_BY_PROXY: 'true',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/unreachable',
      });
      expect((await started.exited).code).toBe(1);
      expect(started.output()).toMatch(/caller "bank-bot" is bound to a client certificate/);
      expect(started.output()).not.toMatch(/database unavailable|ECONNREFUSED/);
    });

    it('refuses to start with its own TLS and TLS_CLIENT_AUTH=off', async () => {
      const certs = join(dir, 'certs');
      generateCertificates(certs);
      const started = await production({
        TLS_CERT_FILE: join(certs, 'server.crt'),
        TLS_KEY_FILE: join(certs, 'server.key'),
        TLS_CLIENT_AUTH: 'off',
      });
      expect((await started.exited).code).toBe(1);
      expect(started.output()).toMatch(/caller "bank-bot" is bound to a client certificate .*: TLS_CLIENT_AUTH is off/);
      expect(started.output()).not.toMatch(/Listening on/);
      expect(started.output()).not.toMatch(STACK_LINE);
    });
  });
});
