import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import { DeliveryAdministration } from '../../async/delivery-admin';
import { JobQueue } from '../../async/job-queue';
import { AuditLog } from '../../audit/audit-log';
import { AuditSearch } from '../../audit/audit-search';
import { AppError } from '../../common/errors/app-error';
import { flattenValidationErrors } from '../../common/validation/validate-body';
import { AppConfig } from '../../config';
import { DatabasePool } from '../../database/database-pool';
import { PgNotifications } from '../../database/pg-notifications';
import { ReadReplicas } from '../../database/replicas/read-replicas';
import { CaptureRules } from '../capture/capture-rules';
import { ConsoleOptions } from '../console.options';
import { SessionRevocations } from '../sessions/session-revocations';
import { IntentStats } from '../turn-log/intent-stats';
import { TurnLogQueries } from '../turn-log/turn-log.queries';
import { TurnTail } from '../turn-log/turn-tail';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminOpenApiController, AdminOpenApiDocument } from './admin-openapi.controller';
import { AdminSessions } from './admin-sessions';
import { AuditController } from './audit.controller';
import { CapturesController } from './captures.controller';
import { ConsoleAudit } from './console-audit';
import { DeliveriesController } from './deliveries.controller';
import { ConsoleHealthController, ServiceReadiness } from './health.controller';
import { IntentsController } from './intents.controller';
import { LocalInstance } from './local-instance';
import { LoginController } from './login.controller';
import { SignInLimit } from './sign-in-limit';
import { OidcLogin } from './oidc-login';
import { SessionController } from './session.controller';
import { TurnsController } from './turns.controller';

/** The running service, whose instances the admin application shares (one pool, one configuration). */
export interface ServiceInstances {
  get(token: abstract new (...args: never[]) => unknown, options: { strict: false }): unknown;
  /** The webhook listener (a developer may send a captured request to it again). */
  getHttpServer(): unknown;
}

/**
 * The service's own instance behind a view without lifecycle hooks: Nest calls the hooks of every provider of an
 * application, value providers too, and the admin application must not start or stop (again) what the service
 * runs (its job queue, its replica checks, the audit log's timers). Methods run on the instance itself.
 */
function shared<T extends object>(instance: T): T {
  return new Proxy(instance, {
    get(target, property) {
      if (typeof property === 'string' && LIFECYCLE_HOOKS.has(property)) return undefined;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const LIFECYCLE_HOOKS = new Set([
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/** Instances of the service the console uses as they are, not copies: the same pool and LISTEN connection. */
const SHARED = [
  AppConfig,
  ConsoleOptions,
  DatabasePool,
  PgNotifications,
  ReadReplicas,
  JobQueue,
  AuditLog,
  AuditSearch,
  DeliveryAdministration,
  CaptureRules,
  SessionRevocations,
] as const;

/** Every controller of the admin application (the API document is read off them). */
export const ADMIN_CONTROLLERS = [
  SessionController,
  TurnsController,
  CapturesController,
  DeliveriesController,
  AuditController,
  IntentsController,
  ConsoleHealthController,
  LoginController,
  AdminOpenApiController,
];
const queries = [TurnLogQueries, TurnTail, IntentStats];

/**
 * The admin application's module: the console's API on its own listener, never on the webhook port. Every route
 * is behind `AdminAuthGuard`; query strings are validated and anything unknown in them refused.
 */
@Module({})
export class AdminModule {
  static forRoot(service: ServiceInstances, readiness: ServiceReadiness): DynamicModule {
    return {
      module: AdminModule,
      controllers: ADMIN_CONTROLLERS,
      providers: [
        { provide: ServiceReadiness, useValue: readiness },
        {
          provide: LocalInstance,
          useFactory: (config: AppConfig) => new LocalInstance(() => service.getHttpServer(), config),
          inject: [AppConfig],
        },
        ...SHARED.map((token) => ({
          provide: token,
          useValue: shared(service.get(token, { strict: false }) as object),
        })),
        ...queries,
        AdminSessions,
        AdminOpenApiDocument,
        ConsoleAudit,
        OidcLogin,
        SignInLimit,
        { provide: APP_GUARD, useClass: AdminAuthGuard },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            transform: true,
            whitelist: true,
            forbidNonWhitelisted: true,
            exceptionFactory: (errors) =>
              new AppError('VALIDATION_FAILED', 'The request is not valid.', flattenValidationErrors(errors)),
          }),
        },
      ],
    };
  }
}
