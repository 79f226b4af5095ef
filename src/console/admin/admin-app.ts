import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ListenError } from '../../common/errors/listen-error';
import { HttpErrorFilter } from '../../common/http/http-error.filter';
import { requestIdMiddleware } from '../../common/http/request-id.middleware';
import type { AppConfig } from '../../config';
import { accessLogger, httpAccessLog } from '../../observability/access-log';
import { createNestLogger, rootLogger } from '../../observability/logging';
import { AdminModule } from './admin.module';
import type { ServiceReadiness } from './health.controller';
import { consoleSecurityHeaders } from './security-headers';

/** The admin listener, once it listens. */
export interface AdminListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The operator console and its API as an application of their own, on ADMIN_PORT: nothing of it is routed on
 * the webhook port, and nothing of the webhook routes here. It shares the service's instances (pool, LISTEN
 * connection, configuration) rather than opening its own; `readiness` is the service's own probe (the composition
 * root wires it, since the console may not import the health module).
 */
export async function startAdminListener(
  service: INestApplication,
  config: AppConfig,
  readiness: ServiceReadiness,
): Promise<AdminListener> {
  const admin = await NestFactory.create<NestExpressApplication>(AdminModule.forRoot(service, readiness), {
    logger: createNestLogger(config.logLevel),
    abortOnError: false,
    bodyParser: false,
  });
  admin.disable('x-powered-by');
  admin.set('etag', false);
  admin.use(requestIdMiddleware, httpAccessLog(accessLogger(rootLogger(config.logLevel)), { probePercent: 0 }));
  admin.use(consoleSecurityHeaders);
  admin.useBodyParser('json', { limit: '64kb' });
  admin.useGlobalFilters(new HttpErrorFilter());
  const { host, port } = config.admin;
  await admin.listen(port, host).catch(async (error: unknown) => {
    await admin.close().catch(() => undefined);
    throw new ListenError('admin server', host, port, 'ADMIN_PORT', error, 'ADMIN_ENABLED=false');
  });
  const server = admin.getHttpServer();
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: async () => {
      // Live tails never end by themselves.
      server.closeAllConnections();
      await admin.close();
    },
  };
}
