import type { ModuleMetadata } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { createHttpApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config';
import { connectGrpc } from '../../src/grpc/connect-grpc';
import { createTestDatabase, TestDatabase } from './test-database';

export interface TestApp {
  app: NestExpressApplication;
  /** e.g. http://127.0.0.1:43121 */
  baseUrl: string;
  database: TestDatabase;
  /** The bound gRPC port when the test enabled gRPC (GRPC_ENABLED=true; GRPC_PORT defaults to 0 here). */
  grpcPort?: number;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  imports?: ModuleMetadata['imports'];
  /** Runs once the application is built and before it starts (its modules' start-up hooks) and listens. */
  beforeStart?: () => void;
  /** The address the application connects to for its fresh database (e.g. through a proxy that fails on cue). */
  connectVia?: (databaseUrl: string) => string;
}

/** Boots the real application on a free port against its own fresh PostgreSQL database. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'fatal',
    DB_POOL_SIZE: '4',
    // Fixed default ports would collide between test files running at once; tests that need them opt in.
    GRPC_ENABLED: 'false',
    GRPC_PORT: '0',
    METRICS_ENABLED: 'false',
    // The app shares the test runner's event loop: jest's own work (loading the next test file, other apps in the
    // same worker) would read as the replica being overloaded and get turns refused with 503 OVERLOADED. Tests
    // of the overload guard set it themselves.
    OVERLOAD_DELAY_MS: '0',
    ...options.env,
    DATABASE_URL: options.connectVia?.(database.url) ?? database.url,
    PORT: '0',
  });
  const app = await createHttpApp(config, options.imports);
  let grpcPort: number | undefined;
  try {
    options.beforeStart?.();
    await app.listen(0, '127.0.0.1');
    grpcPort = await connectGrpc(app, config);
  } catch (error) {
    await app.close().catch(() => undefined);
    await database.drop();
    throw error;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    database,
    grpcPort,
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}
