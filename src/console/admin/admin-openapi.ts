import type { INestApplication, Type } from '@nestjs/common';
import { PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Reflector } from '@nestjs/core';
import {
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type SchemaObject,
} from '@nestjs/swagger';
import { ErrorResponseSchema } from '../../common/http/error-response.schema';
import { requestSchemas } from '../../common/validation/request-schemas';
import { routeAccess } from './admin-auth.guard';
import { AdminSessions, CSRF_HEADER, SESSION_COOKIE } from './admin-sessions';

/** Where the admin listener serves the document (no authentication: it describes, it holds no data). */
export const ADMIN_OPENAPI_PATH = '/api/openapi.json';

const DESCRIPTION = `The operator console's JSON API, served on the admin listener (ADMIN_PORT) only.

Every route but sign-in needs a console session: the HttpOnly cookie __Host-${SESSION_COOKIE} (${SESSION_COOKIE} when the
console is served over plain http) that /login and /callback set after OpenID Connect sign-in (in development without an identity provider, requests from loopback are the local
operator). Every action (POST, DELETE) also needs the session's CSRF token, from GET /api/session, in the
${CSRF_HEADER} header, and is audited. Routes marked "operator" need the operator role; the rest need viewer or
operator. Errors are always JSON: {statusCode, error, message, details?, requestId}.`;

const ERRORS: Readonly<Record<number, string>> = {
  400: 'A parameter or the body is not valid (details name each field).',
  401: 'No console session (sign in), or a signed-out one.',
  403: 'The role is missing, or the CSRF token or origin of an action is wrong.',
};

interface RouteArgument {
  readonly kind: 'query' | 'body' | 'param';
  readonly type: Type;
}

/** The DTO classes a handler's @Query, @Body and @Param arguments are validated against. */
function routeArguments(controller: Type, methodKey: string): RouteArgument[] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodKey) ?? {}) as Record<
    string,
    { index: number; data?: unknown }
  >;
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, methodKey) ?? []) as Type[];
  const kinds: Record<string, RouteArgument['kind']> = {
    [RouteParamtypes.QUERY]: 'query',
    [RouteParamtypes.BODY]: 'body',
    [RouteParamtypes.PARAM]: 'param',
  };
  return Object.entries(args).flatMap(([key, { index, data }]) => {
    const kind = kinds[key.split(':')[0]];
    const type = types[index];
    // A whole-object argument with a DTO class; a single named value (`@Query('x')`) has none to describe.
    return kind && data === undefined && type && type !== Object ? [{ kind, type }] : [];
  });
}

function parametersOf(where: 'query' | 'path', schema: SchemaObject): ParameterObject[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property as SchemaObject,
    ...((property as SchemaObject).description && { description: (property as SchemaObject).description }),
  }));
}

/**
 * The admin API's OpenAPI 3.1 document, built from the admin application's own controllers: each route's query,
 * path and body parameters from the DTO classes its validation uses, who may call it, and its error answers.
 */
export function buildAdminOpenApiDocument(admin: INestApplication, controllers: readonly Type[]): OpenAPIObject {
  const cookie = admin.get(AdminSessions).sessionCookieName;
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Webhook fulfillment: operator console API')
    .setDescription(DESCRIPTION)
    .setVersion('v1')
    .addCookieAuth(cookie, { type: 'apiKey', in: 'cookie', name: cookie }, 'session')
    .addApiKey({ type: 'apiKey', in: 'header', name: CSRF_HEADER }, 'csrf')
    .build();
  const document = SwaggerModule.createDocument(admin, config, {
    extraModels: [ErrorResponseSchema],
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  const schemas = ((document.components ??= {}).schemas ??= {});
  const reflector = new Reflector();

  for (const controller of controllers) {
    for (const methodKey of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[methodKey];
      if (methodKey === 'constructor' || typeof handler !== 'function') continue;
      if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      const operation = findOperation(document, `${controller.name.replace(/Controller$/, '')}_${methodKey}`);
      if (!operation) continue;
      describeOperation(operation, routeArguments(controller, methodKey), schemas);
      const access = routeAccess(reflector, handler, controller);
      const action = operation.method !== 'get';
      operation.object.security = access === 'public' ? [] : [action ? { session: [], csrf: [] } : { session: [] }];
      if (access === 'operator') {
        operation.object.description = [operation.object.description, 'Needs the operator role.']
          .filter(Boolean)
          .join(' ');
      }
      for (const status of access === 'public' ? [400] : [400, 401, 403]) {
        operation.object.responses[status] ??= {
          description: ERRORS[status],
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseSchema' } } },
        };
      }
    }
  }
  return document;
}

function findOperation(
  document: OpenAPIObject,
  operationId: string,
): { method: string; object: OperationObject } | undefined {
  for (const item of Object.values(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if ((operation as OperationObject | undefined)?.operationId === operationId) {
        return { method, object: operation as OperationObject };
      }
    }
  }
  return undefined;
}

/** Replaces what @nestjs/swagger guessed from undecorated DTOs with what their validation checks. */
function describeOperation(
  operation: { object: OperationObject },
  args: readonly RouteArgument[],
  schemas: Record<string, SchemaObject | object>,
): void {
  const described = requestSchemas(args.map((arg) => arg.type));
  const parameters: ParameterObject[] = [];
  for (const arg of args) {
    const schema = described[arg.type.name] ?? { type: 'object' };
    if (arg.kind === 'body') {
      Object.assign(schemas, described);
      operation.object.requestBody = {
        required: true,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${arg.type.name}` } } },
      };
    } else {
      parameters.push(...parametersOf(arg.kind === 'param' ? 'path' : 'query', schema));
    }
  }
  const others = (operation.object.parameters ?? []).filter(
    (parameter) => !('in' in parameter) || (parameter.in !== 'query' && parameter.in !== 'path'),
  );
  operation.object.parameters = [...others, ...parameters];
}
