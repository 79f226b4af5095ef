import { Module } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { FulfillmentHandler, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { cleanEnv, freePort, startService } from './support/service-process';
import { startTestApp } from './support/test-app';
import { generateCertificates } from './support/tls-fixtures';

@IntentHandler('GetAccountBalance')
class ShadowBalanceHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'shadow' });
  }
}

@Module({ providers: [ShadowBalanceHandler] })
class ShadowModule {}

describe('start-up', () => {
  describe('configuration is validated before anything starts', () => {
    it('stops with exit code 1 and one line per bad variable, without a stack trace', async () => {
      const service = startService({
        PORT: 'eighty',
        DB_POOL_SIZE: '0',
        LOG_LEVEL: 'chatty',
        DATABASE_URL: 'mysql://u:hunter2@h/db',
      });
      const { code } = await service.exited;
      expect(code).toBe(1);
      const lines = service.output().trim().split('\n');
      expect(lines[0]).toBe('Invalid configuration:');
      expect(
        lines
          .slice(1)
          .map((line) => line.trim().split(':')[0])
          .sort(),
      ).toEqual(['DATABASE_URL', 'DB_POOL_SIZE', 'LOG_LEVEL', 'PORT']);
      expect(service.output()).not.toContain('hunter2');
      expect(service.output()).not.toMatch(/\n\s+at /);
    });

    it('refuses production without a database URL, TLS and a callers file', async () => {
      const service = startService({ NODE_ENV: 'production' });
      expect((await service.exited).code).toBe(1);
      expect(service.output()).toMatch(/DATABASE_URL: is required when NODE_ENV=production/);
      expect(service.output()).toMatch(/TLS_CERT_FILE: production needs TLS .* or TLS_TERMINATED_BY_PROXY=true/);
      expect(service.output()).toMatch(/CALLERS_FILE: is required when NODE_ENV=production/);
    });

    it('refuses to bind a non-loopback address without TLS', async () => {
      const service = startService({ HOST: '0.0.0.0', DATABASE_URL: 'postgres://127.0.0.1:1/x' });
      expect((await service.exited).code).toBe(1);
      expect(service.output()).toMatch(/^\s+HOST: without TLS the service only binds to a loopback address/m);
    });

    it('refuses a server key that is not its certificate’s, of another type too, naming both files', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wf-key-'));
      try {
        generateCertificates(dir);
        // The development certificate's key is ECDSA P-256; an RSA key beside it passes node:tls without a word.
        execFileSync('openssl', ['genrsa', '-out', join(dir, 'rsa.key'), '2048'], { stdio: 'ignore' });
        const service = startService({
          DATABASE_URL: 'postgres://127.0.0.1:1/x',
          TLS_CERT_FILE: join(dir, 'server.crt'),
          TLS_KEY_FILE: join(dir, 'rsa.key'),
        });
        expect((await service.exited).code).toBe(1);
        expect(service.output()).toContain(
          `TLS_KEY_FILE: ${join(dir, 'rsa.key')} is not the key of the certificate in TLS_CERT_FILE ${join(dir, 'server.crt')}`,
        );
        expect(service.output()).not.toMatch(/\n\s+at /);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('stops with one line when the database cannot be reached', async () => {
      const service = startService({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', LOG_LEVEL: 'fatal' });
      expect((await service.exited).code).toBe(1);
      expect(service.output().trim()).toBe(
        'Start-up failed: database unavailable (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1',
      );
    });

    it('at the default log level: a warning per attempt and the one line, no error lines and no stack', async () => {
      const service = startService({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
      expect((await service.exited).code).toBe(1);
      const output = service.output();
      expect(
        output.match(
          /"level":"warn".*Cannot use PostgreSQL yet \(ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:1\); trying again in 1000 ms \(attempt \d of 3\)/g,
        ),
      ).toHaveLength(2);
      expect(output).toContain(
        'Start-up failed: database unavailable (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1',
      );
      // Before, TypeORM logged each attempt at error with a stack, and Nest's bootstrap the failure once more.
      expect(output).not.toMatch(/"level":"(error|fatal)"|"stack"|\n\s+at /);
    });

    it('names a metrics port that is taken and exits 1, without a stack trace', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as AddressInfo;
      try {
        const service = startService({
          DATABASE_URL: process.env.DATABASE_URL ?? '',
          PORT: String(await freePort()),
          METRICS_ENABLED: 'true',
          METRICS_PORT: String(port),
        });
        expect((await service.exited).code).toBe(1);
        expect(service.output()).toContain(`Start-up failed: the metrics server cannot listen on 127.0.0.1:${port}`);
        expect(service.output()).not.toMatch(/\n\s+at /);
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });

    it('reports every mistake in the callers file and exits 1', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wf-callers-'));
      const file = join(dir, 'callers.yaml');
      writeFileSync(
        file,
        'callers:\n  - id: "bad id!"\n    platforms: [telegram]\n    auth: { bearer: { tokens: [short] } }\n',
      );
      const service = startService({ CALLERS_FILE: file, DATABASE_URL: process.env.DATABASE_URL ?? '' });
      expect((await service.exited).code).toBe(1);
      expect(service.output()).toMatch(/callers\[0\]\.id/);
      expect(service.output()).toMatch(/callers\[0\]\.platforms/);
      expect(service.output()).toMatch(/callers\[0\]\.auth\.bearer\.tokens/);
      expect(service.output()).not.toMatch(/\n\s+at /);
    });
  });

  it('fails when two handlers claim one intent, naming both classes', async () => {
    await expect(startTestApp({ imports: [ShadowModule] })).rejects.toThrow(
      'Intent "GetAccountBalance" has two handlers: AccountBalanceHandler and ShadowBalanceHandler',
    );
  });

  describe('callers file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-callers-'));
    const file = join(dir, 'callers.yaml');
    writeFileSync(
      file,
      [
        'callers:',
        '  - id: dialogflow-prod',
        '    platforms: [dialogflow-es]',
        '    auth:',
        '      bearer:',
        '        tokens: [new-token-0123456789abcdef, old-token-0123456789abcdef]',
        '  - id: rasa-only',
        '    platforms: [rasa]',
        '    auth: { bearer: { tokens: [rasa-token-0123456789abcdef] } }',
        '',
      ].join('\n'),
    );

    it('accepts both tokens during a rotation, refuses the local dev token and other platforms', async () => {
      const t = await startTestApp({ env: { CALLERS_FILE: file } });
      try {
        const path = '/v1/webhooks/dialogflow-es';
        for (const token of ['new-token-0123456789abcdef', 'old-token-0123456789abcdef']) {
          const ok = await request(t.baseUrl).post(path).set('Authorization', `Bearer ${token}`).send(README_REQUEST);
          expect(ok.status).toBe(200);
          expect(ok.body.fulfillmentText).toContain('$3,247.82');
        }
        await request(t.baseUrl)
          .post(path)
          .set('Authorization', 'Bearer local-dev-token')
          .send(README_REQUEST)
          .expect(401);
        const forbidden = await request(t.baseUrl)
          .post(path)
          .set('Authorization', 'Bearer rasa-token-0123456789abcdef')
          .send(README_REQUEST)
          .expect(403);
        expect(forbidden.body).toMatchObject({ statusCode: 403, error: 'FORBIDDEN' });
      } finally {
        await t.close();
      }
    });
  });

  it('keeps the environment of the child processes clean', () => {
    // Nothing inherited from the test process: PATH and HOME, plus fixed defaults that keep fixed-port
    // listeners (gRPC, metrics, the console) and tracing off unless a test turns them on.
    expect(Object.keys(cleanEnv({ A: '1' })).sort()).toEqual([
      'A',
      'ADMIN_ENABLED',
      'GRPC_ENABLED',
      'HOME',
      'METRICS_ENABLED',
      'NO_COLOR',
      'OTEL_SDK_DISABLED',
      'PATH',
    ]);
    expect(cleanEnv({ GRPC_ENABLED: 'true' }).GRPC_ENABLED).toBe('true');
  });
});
