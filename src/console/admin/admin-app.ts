import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ListenError } from '../../common/errors/listen-error';
import { ExpressPrototypesAdapter } from '../../common/http/express-prototypes.adapter';
import { HttpErrorFilter } from '../../common/http/http-error.filter';
import { clientAddressMiddleware } from '../../common/http/client-address.middleware';
import { jsonBodyMiddleware } from '../../common/http/json-body.middleware';
import { requestIdMiddleware } from '../../common/http/request-id.middleware';
import { requireHostHeader } from '../../common/http/require-host.middleware';
import type { AppConfig } from '../../config';
import { DatabaseAvailability } from '../../database/database-availability';
import { databaseErrorTranslator } from '../../database/unavailable-answer';
import { accessLogger, httpAccessLog } from '../../observability/access-log';
import { createNestLogger, rootLogger } from '../../observability/logging';
import { ADMIN_CONTROLLERS, AdminModule } from './admin.module';
import { hardenAdminServer } from './admin-server';
import { ConsoleOptions } from '../console.options';
import { buildAdminOpenApiDocument } from './admin-openapi';
import { AdminOpenApiDocument } from './admin-openapi.controller';
import type { ServiceReadiness } from './health.controller';
import { consoleSecurityHeaders } from './security-headers';

/**
 * Where the console's built pages are (scripts/build.mjs builds console-ui/ into dist/console-ui/): beside the
 * compiled service, or, when the service runs from its sources (the tests), in the project's dist/.
 */
const PAGE_FOLDERS = [
  join(__dirname, '..', '..', 'console-ui'),
  join(__dirname, '..', '..', '..', 'dist', 'console-ui'),
];

/** The API and the sign-in steps: Nest's routes, never a file. */
const NOT_PAGES = /^\/(?:api(?:\/|$)|login$|callback$|logout$)/;

/**
 * The console's pages: static files that hold no data, so they need no session (the API they call does).
 * Hashed assets never change under their name; index.html and the rest are revalidated on every load, so a new
 * build shows at once. Without a build (a test run from the sources), `/` says so and the API works as ever.
 */
function consolePages(): RequestHandler {
  let folder: string | undefined;
  let serve: RequestHandler | undefined;
  return (request: Request, response: Response, next: NextFunction) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || NOT_PAGES.test(request.path)) return next();
    // Looked for until found: a service started before its first build of the pages serves them once built.
    folder ??= PAGE_FOLDERS.find((candidate) => existsSync(join(candidate, 'index.html')));
    if (!folder) {
      if (request.path !== '/') return next();
      response.status(404).type('text/plain').send('The console pages are not built: npm run build builds them.\n');
      return;
    }
    const assets = `${folder}${sep}assets${sep}`;
    serve ??= express.static(folder, {
      index: 'index.html',
      redirect: false,
      dotfiles: 'ignore',
      setHeaders: (res: Response, path: string) =>
        res.setHeader('Cache-Control', path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache'),
    });
    return serve(request, response, next);
  };
}

/** The admin listener, once it listens. */
export interface AdminListener {
  readonly port: number;
  close(): Promise<void>;
}

/** The console's requests are small: a capture rule, a list of deliveries to replay. */
const ADMIN_BODY_LIMIT_BYTES = 64 * 1024;
/**
 * A 401's challenge here: the console signs in with a session cookie from `/login`, never a bearer token (HTTP has no
 * registered scheme for a cookie sign-in; the webhook port's `Bearer` one sent clients to the wrong credentials).
 */
const CONSOLE_CHALLENGE = 'Cookie realm="operator-console", form-action="/login"';

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
  const root = AdminModule.forRoot(service, readiness);
  const admin = await NestFactory.create<NestExpressApplication>(root, new ExpressPrototypesAdapter(), {
    logger: createNestLogger(config.logLevel),
    abortOnError: false,
    bodyParser: false,
  });
  admin.disable('x-powered-by');
  admin.set('etag', false);
  const access = accessLogger(rootLogger(config.logLevel));
  hardenAdminServer(admin.getHttpServer(), config.http, admin.getHttpAdapter().getInstance(), access);
  // Behind the ingress every peer is the proxy: audit rows and log lines name the client it forwarded for.
  admin.use(clientAddressMiddleware(config.network.trustedProxies, config.network.forwardedHeader));
  admin.use(requestIdMiddleware, httpAccessLog(access, { probePercent: 0 }));
  admin.use(consoleSecurityHeaders({ https: admin.get(ConsoleOptions).secureCookies }), requireHostHeader);
  admin.use(consolePages());
  // The webhook port's reader: a clear 400 for what is not a JSON object, and no key that reaches a prototype.
  admin.use(jsonBodyMiddleware(ADMIN_BODY_LIMIT_BYTES));
  admin.useGlobalFilters(
    new HttpErrorFilter(databaseErrorTranslator(service.get(DatabaseAvailability)), () => CONSOLE_CHALLENGE),
  );
  admin.get(AdminOpenApiDocument).buildWith(() => buildAdminOpenApiDocument(admin, ADMIN_CONTROLLERS));
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
