import type { LogLevel, ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { loadCallerRegistry } from './auth/auth.module';
import { chain } from './common/http/chain.middleware';
import { HttpErrorFilter } from './common/http/http-error.filter';
import { jsonBodyMiddleware } from './common/http/json-body.middleware';
import { requestIdMiddleware } from './common/http/request-id.middleware';
import type { AppConfig } from './config';

const LOG_LEVELS: Record<AppConfig['logLevel'], LogLevel[]> = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  verbose: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Builds the HTTP application with everything main.ts and the e2e tests share; does not listen. */
export async function createHttpApp(
  config: AppConfig,
  extra: ModuleMetadata['imports'] = [],
): Promise<NestExpressApplication> {
  const callers = loadCallerRegistry(config);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, callers, extra), {
    bodyParser: false,
    logger: LOG_LEVELS[config.logLevel],
    abortOnError: false,
  });
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(chain(requestIdMiddleware, jsonBodyMiddleware(config.http.bodyLimitBytes)));
  app.useGlobalFilters(new HttpErrorFilter());
  return app;
}
