/**
 * grpc-js's own trace lines, asked for as an operator debugging the transport would (GRPC_TRACE=server_call,
 * GRPC_VERBOSITY=DEBUG, LOG_LEVEL=debug): the built service as a real process, since grpc-js reads both variables
 * when it is loaded. The `server_call` tracer writes every call's metadata, credentials included.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { openGrpcClient, unary } from './support/grpc-client';
import { freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const SECRETS = {
  authorization: 'Bearer token-s3cr3t',
  cookie: 'session=cookie-s3cr3t',
  'x-api-key': 'api-key-s3cr3t',
  'x-hub-signature-256': 'sha256=signature-s3cr3t',
};

/** The `msg` of each JSON log line. */
function messages(output: string): string[] {
  return output.split('\n').flatMap((line) => {
    try {
      return [String((JSON.parse(line) as { msg?: unknown }).msg)];
    } catch {
      return [];
    }
  });
}

describe('grpc-js trace lines (GRPC_TRACE=server_call, GRPC_VERBOSITY=DEBUG)', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let grpcPort: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    grpcPort = await freePort();
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(await freePort()),
      GRPC_ENABLED: 'true',
      GRPC_PORT: String(grpcPort),
      LOG_LEVEL: 'debug',
      GRPC_TRACE: 'server_call',
      GRPC_VERBOSITY: 'DEBUG',
      SHUTDOWN_DELAY_MS: '0',
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    await killService(service);
    await database?.drop();
  });

  it("show a call's metadata with the protocol's own values only: no credential, cookie, key or signature", async () => {
    const client = openGrpcClient(grpcPort, credentials.createInsecure());
    const metadata = new Metadata();
    for (const [name, value] of Object.entries(SECRETS)) metadata.set(name, value);
    metadata.set('x-request-id', 'grpc-trace-1');
    try {
      // Refused (the token is unknown): grpc-js traced the metadata before.
      await unary(client, 'Fulfill', { sessionId: 's-trace', intent: 'GetAccountBalance' }, metadata).catch(
        () => undefined,
      );
    } finally {
      client.close();
    }
    await service.waitFor(/received headers .*grpc-trace-1/);
    const traced = messages(service.output()).filter((message) => message.includes('received headers'));
    expect(traced.join('\n')).toContain('"authorization":"[REDACTED]"');
    expect(traced.join('\n')).toContain('"user-agent":["grpc-node-js/');
    for (const secret of ['token-s3cr3t', 'cookie-s3cr3t', 'api-key-s3cr3t', 'signature-s3cr3t']) {
      expect(service.output()).not.toContain(secret);
    }
  });
});
