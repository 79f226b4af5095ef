import { requireHostHeader } from './common/http/require-host.middleware';
import { HttpException, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import type { HttpsOptions } from '@nestjs/common/interfaces/external/https-options.interface';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { loadCallerRegistry } from './auth/auth.module';
import { httpsServerOptions, readTlsMaterial } from './auth/tls/tls-options';
import { stampArrivals } from './common/http/arrival';
import { chain } from './common/http/chain.middleware';
import { ExpressPrototypesAdapter } from './common/http/express-prototypes.adapter';
import { HttpErrorFilter } from './common/http/http-error.filter';
import { jsonBodyMiddleware } from './common/http/json-body.middleware';
import { requestIdMiddleware } from './common/http/request-id.middleware';
import type { AppConfig } from './config';
import { DatabaseAvailability } from './database/database-availability';
import { databaseErrorTranslator } from './database/unavailable-answer';
import { setupOpenApi } from './docs/openapi';
import { HealthController } from './health/health.controller';
import { Readiness } from './health/readiness';
import type { ServiceReadiness } from './console/admin/health.controller';
import { EventLoopLoad } from './observability/event-loop-load';
import { accessLogger, httpAccessLog, logRefusedRequest } from './observability/access-log';
import { answerClientErrors, limitSlowClients } from './common/http/client-errors';
import { createNestLogger, requestLogContext, rootLogger } from './observability/logging';
import { refuseWhenOverloaded } from './observability/overload.middleware';
import { traceServerRequests } from './observability/server-spans';
import { preAuthLimit } from './throttling/pre-auth-limit.middleware';
import { PreAuthLimiter } from './throttling/pre-auth-limiter';

/** Builds the HTTP application with everything main.ts and the e2e tests share; does not listen. */
export async function createHttpApp(
  config: AppConfig,
  extra: ModuleMetadata['imports'] = [],
): Promise<NestExpressApplication> {
  const callers = loadCallerRegistry(config);
  const httpsOptions = config.tls ? httpsServerOptions(config.tls, readTlsMaterial(config.tls)) : undefined;
  const root = AppModule.forRoot(config, callers, extra);
  const app = await NestFactory.create<NestExpressApplication>(root, new ExpressPrototypesAdapter(), {
    bodyParser: false,
    // JSON lines through pino at LOG_LEVEL, from the first message Nest logs (see observability/logging.ts).
    logger: createNestLogger(config.logLevel),
    abortOnError: false,
    // Nest's HttpsOptions type is narrower than what https.createServer accepts (minVersion, …).
    ...(httpsOptions && { httpsOptions: httpsOptions as HttpsOptions }),
  });
  const server = app.getHttpServer();
  limitSlowClients(server, config.http);
  app.disable('x-powered-by');
  app.set('etag', false);
  const readiness = app.get(Readiness);
  const load = app.get(EventLoopLoad);
  // A turn's budget starts when its request arrives, before the body is read or the caller authenticated.
  stampArrivals(server, () => load.delayMs);
  server.once('listening', () => load.restartWindow());
  // While tracing runs, each request (and everything above) in its HTTP server span.
  traceServerRequests(server, config.tls ? 'https' : 'http');
  const access = accessLogger(rootLogger(config.logLevel));
  // Requests Node's parser refuses never reach express: answered as JSON, audited, and given an access line.
  answerClientErrors(server, app.getHttpAdapter().getInstance(), (refused) => logRefusedRequest(access, refused));
  app.use(
    chain(
      requestIdMiddleware,
      // First, so that whatever answers (the guards below, the body reader, a controller) gets its access line.
      httpAccessLog(access, { probePercent: config.observability.accessLogProbePercent }),
      requireHostHeader,
      (_request, response, next) => {
        // From SIGTERM on, each response (also of a request that arrived before) ends its keep-alive
        // connection, so clients reconnect elsewhere instead of racing the close.
        const writeHead = response.writeHead.bind(response);
        response.writeHead = ((...args: Parameters<typeof writeHead>) => {
          if (readiness.draining) response.setHeader('Connection', 'close');
          return writeHead(...args);
        }) as typeof writeHead;
        next();
      },
      refuseWhenOverloaded(load),
      // Per client address, before the body is read or any credential looked at (PREAUTH_LIMIT).
      preAuthLimit(app.get(PreAuthLimiter)),
      jsonBodyMiddleware(config.http.bodyLimitBytes, config.http.jsonMaxDepth),
      // Request id and caller on every line logged while handling the request. After the body is read: what
      // runs from the body's 'end' event on runs in the request's log context.
      requestLogContext,
    ),
  );
  app.useGlobalFilters(new HttpErrorFilter(databaseErrorTranslator(app.get(DatabaseAvailability))));
  if (config.http.openApi) setupOpenApi(app);
  return app;
}

/** The service's readiness probe, for the operator console's health page (which may not import the health module). */
export function serviceReadiness(app: INestApplication): ServiceReadiness {
  const health = app.get(HealthController);
  return {
    report: async () => {
      try {
        const result = await health.ready();
        return { status: 'ok', details: result.details };
      } catch (error: unknown) {
        // terminus answers a failed check with a 503 whose body holds the same details.
        if (!(error instanceof HttpException)) throw error;
        const body = error.getResponse() as { details?: Record<string, unknown> };
        return { status: 'error', details: body.details ?? {} };
      }
    },
  };
}
