import type { INestApplication, Type } from '@nestjs/common';
import { HTTP_CODE_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DiscoveryService, Reflector } from '@nestjs/core';
import {
  DocumentBuilder,
  getSchemaPath,
  SwaggerModule,
  type ExampleObject,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  type SecuritySchemeObject,
} from '@nestjs/swagger';
import { CallerRequired, QueryTokenParameter } from '../common/caller';
import { isPlatform, WebhookPlatform } from '../common/platform';
import { AppConfig } from '../config';
import { PlatformAdapters } from '../platforms/platform-adapters';
import { RasaSdkController } from '../platforms/rasa/rasa-sdk.controller';
import { SECURITY_SCHEME, WEBHOOK_ERRORS, WEBHOOK_SECURITY } from './api-webhook.decorators';
import { ErrorResponseSchema } from '../common/http/error-response.schema';
import { ERROR_EXAMPLES, METHOD_NOT_ALLOWED_EXAMPLE, requestExample } from './examples';
import { requestSchemas } from '../common/validation/request-schemas';
import { PLATFORM_ANSWERS, RASA_SDK_ANSWERS, type OwnErrorAnswer } from './platform-answers';
import { addResponseHeaders, RESPONSE_HEADERS } from './response-headers';
import { type RequestClass, withValidatorSchemas } from './validator-schemas';

/** Where the document and the UI are served (no authentication; they describe, they do not expose data). */
export const OPENAPI_JSON_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

const DESCRIPTION = `Webhook fulfillment for Dialogflow ES/CX, Amazon Lex V2, Rasa and custom bots (generic format).

Every webhook route needs one of the credentials listed under security: a bearer token (static, JWT or introspected),
HTTP basic, a Standard Webhooks signature (webhook-id, webhook-timestamp and webhook-signature headers over the raw
body), a header signature (HMAC of the raw body in a header configured per caller, e.g. X-Signature), or a client
certificate (mutual TLS); the Rasa routes also take the bearer token as the query parameter token, as Rasa's
action_endpoint sends it. Errors are JSON: {statusCode, error, message, details?, requestId}, except the Rasa SDK's
own {error, action_name} where the Rasa webhook lists it; the requestId is also sent as the X-Request-Id header, on
every answer. Authenticated answers carry the caller's RateLimit-Policy and RateLimit; 429 and 503 carry Retry-After,
401 a WWW-Authenticate challenge. A method a path does not serve is answered 405 with Allow (see
components.responses.MethodNotAllowed).`;

const PRESENTED_HEADER = (name: string, description: string): SecuritySchemeObject => ({
  type: 'apiKey',
  in: 'header',
  name,
  description,
});

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function operationId(controllerKey: string, methodKey: string): string {
  return `${controllerKey}_${methodKey}`;
}

/**
 * Builds the OpenAPI 3.1 document from every controller the application has (nothing is listed by hand), then
 * documents, on each route only proven callers may use (`CallerRequired`) that does not describe it itself, the credentials it accepts,
 * the error answers it can give and its platform tag.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Webhook fulfillment')
    .setDescription(DESCRIPTION)
    .setVersion('v1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'A static token, a JWT, or a token checked by introspection.' },
      SECURITY_SCHEME.bearer,
    )
    .addBasicAuth({ type: 'http', scheme: 'basic', description: 'Caller id and password.' }, SECURITY_SCHEME.basic)
    .addSecurity(
      SECURITY_SCHEME.webhookId,
      PRESENTED_HEADER('webhook-id', 'Standard Webhooks: unique message id (replays are refused).'),
    )
    .addSecurity(
      SECURITY_SCHEME.webhookTimestamp,
      PRESENTED_HEADER('webhook-timestamp', 'Standard Webhooks: Unix seconds; must be within the tolerance.'),
    )
    .addSecurity(
      SECURITY_SCHEME.webhookSignature,
      PRESENTED_HEADER(
        'webhook-signature',
        'Standard Webhooks: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` (space-separated list).',
      ),
    )
    .addSecurity(
      SECURITY_SCHEME.headerSignature,
      PRESENTED_HEADER(
        'X-Signature',
        'HMAC of the raw body, e.g. `sha256=<hex>`; the header name (and an optional timestamp header) is ' +
          'configured per caller, X-Signature is only an example.',
      ),
    )
    .build();

  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorResponseSchema],
    operationIdFactory: operationId,
    // Tagged below by platform (WebhookPlatform) rather than by controller class name.
    autoTagControllers: false,
  });
  // OpenAPI 3.1's mutualTLS scheme type is not in @nestjs/swagger's SecuritySchemeType union yet.
  const schemes = (document.components ??= {}).securitySchemes ?? {};
  schemes[SECURITY_SCHEME.mutualTls] = {
    type: 'mutualTLS',
    description: 'A client certificate issued by the configured CA (TLS_CA_FILE), bound to a caller.',
  } as unknown as SecuritySchemeObject;
  document.components.securitySchemes = schemes;

  document.components.headers = { ...RESPONSE_HEADERS };
  document.components.responses = { [METHOD_NOT_ALLOWED]: methodNotAllowed() };
  describeGuardedRoutes(app, document);
  withoutNullable(document);
  return document;
}

/**
 * OpenAPI 3.1 schemas are JSON Schema 2020-12, which has no `nullable` (3.0 only; @nestjs/swagger still writes
 * it): a nullable schema becomes a type list with "null", or a choice with null.
 */
function withoutNullable(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(withoutNullable);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  if (schema.nullable === true) {
    delete schema.nullable;
    if (typeof schema.type === 'string') {
      schema.type = [schema.type, 'null'];
    } else if (schema.$ref !== undefined) {
      const ref = schema.$ref;
      delete schema.$ref;
      schema.oneOf = [{ $ref: ref }, { type: 'null' }];
    }
  } else if (schema.nullable === false) {
    delete schema.nullable;
  }
  Object.values(schema).forEach(withoutNullable);
}

interface RouteInfo {
  guarded: boolean;
  /** Its 200 answer, for a Rasa SDK route (RasaSdkController) besides the webhook. */
  sdkAnswer?: ResponseObject;
  /** Open to anyone by configuration although guarded (the Rasa SDK routes with RASA_OPEN_ENDPOINTS=true). */
  openedByConfig: boolean;
  /** The query parameter that also carries a caller's token (`QueryTokenParameter`), if any. */
  queryToken?: string;
  platform?: string;
  controller: string;
  injectsResponse: boolean;
  readsBody: boolean;
  httpCode?: number;
}

/** Adds (once) the scheme of a caller's static bearer token sent as the query parameter `name`; returns its name. */
function addQueryTokenScheme(document: OpenAPIObject, name: string): string {
  const scheme = `query-${name}`;
  const schemes = ((document.components ??= {}).securitySchemes ??= {});
  schemes[scheme] ??= {
    type: 'apiKey',
    in: 'query',
    name,
    description:
      `A caller's static bearer token as \`?${name}=\` (Rasa's action_endpoint token), on the routes that list it. ` +
      'Prefer the Authorization header where the client can send one: proxies may log URLs.',
  };
  return scheme;
}

function routesByOperationId(app: INestApplication): Map<string, RouteInfo> {
  const reflector = new Reflector();
  const rasaEndpointsOpen = app.get(AppConfig, { strict: false }).rasa.openEndpoints;
  const routes = new Map<string, RouteInfo>();
  for (const wrapper of app.get(DiscoveryService).getControllers()) {
    const controller = wrapper.metatype as Type | undefined;
    if (!controller) continue;
    for (const methodKey of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[methodKey];
      if (methodKey === 'constructor' || typeof handler !== 'function') continue;
      const args =
        (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodKey) as Record<string, unknown> | undefined) ?? {};
      routes.set(operationId(controller.name, methodKey), {
        sdkAnswer:
          controller === RasaSdkController ? RASA_SDK_ANSWERS[methodKey as keyof RasaSdkController] : undefined,
        guarded: reflector.getAllAndOverride(CallerRequired, [handler as () => void, controller]) === true,
        openedByConfig: controller === RasaSdkController && rasaEndpointsOpen,
        queryToken: reflector.getAllAndOverride(QueryTokenParameter, [handler as () => void, controller]),
        platform: reflector.getAllAndOverride(WebhookPlatform, [handler as () => void, controller]),
        controller: controller.name.replace(/Controller$/, ''),
        injectsResponse: Object.keys(args).some((key) => key.startsWith(`${RouteParamtypes.RESPONSE}:`)),
        readsBody: Object.keys(args).some((key) => key.startsWith(`${RouteParamtypes.BODY}:`)),
        httpCode: Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined,
      });
    }
  }
  return routes;
}

/**
 * Each platform route's request body: the schema generated from its adapter's DTO (what validation checks) and
 * an example the platform itself would send, which the development set-up answers with 200.
 */
function platformRequestBodies(app: INestApplication, document: OpenAPIObject, platforms: Iterable<string>) {
  const adapters = app.get(PlatformAdapters, { strict: false });
  const bodies = new Map<string, NonNullable<OperationObject['requestBody']>>();
  const requestTypes: RequestClass[] = [];
  for (const platform of new Set(platforms)) {
    if (!isPlatform(platform)) continue;
    const adapter = adapters.get(platform);
    requestTypes.push(adapter.requestType);
    bodies.set(platform, {
      required: true,
      description: `A ${adapter.requestName}. Fields the service does not act on are accepted and ignored.`,
      content: {
        'application/json': {
          schema: { $ref: `#/components/schemas/${adapter.requestType.name}` },
          example: requestExample(platform),
        },
      },
    });
  }
  Object.assign(
    ((document.components ??= {}).schemas ??= {}),
    withValidatorSchemas(requestTypes, requestSchemas(requestTypes)),
  );
  return bodies;
}

/** Error codes only a request body can bring about: not examples for a route that reads none. */
const BODY_ERROR_CODES: ReadonlySet<string> = new Set(['MALFORMED_JSON', 'VALIDATION_FAILED']);

/** The examples of ErrorResponse for a status that fit the route (a body-less one has fewer), but for `left out` codes. */
function errorExamples(status: number, readsBody: boolean, leftOut: readonly string[] = []) {
  return Object.fromEntries(
    Object.entries(ERROR_EXAMPLES[status] ?? {}).filter(([, example]) => {
      const code = (example.value as { error: string }).error;
      return (readsBody || !BODY_ERROR_CODES.has(code)) && !leftOut.includes(code);
    }),
  );
}

/**
 * The body of an error status: ErrorResponse with the real answers as examples, the platform's own body (`own`), or
 * either of the two where both can be answered.
 */
function errorContent(status: number, readsBody: boolean, generic: boolean, own?: OwnErrorAnswer) {
  const errorSchema = { $ref: getSchemaPath(ErrorResponseSchema) };
  const examples: Record<string, ExampleObject> = {
    ...(generic && errorExamples(status, readsBody, own?.replaces)),
    ...own?.examples,
  };
  const ownSchema = own && { $ref: `#/components/schemas/${own.schema}` };
  const schema = !ownSchema ? errorSchema : generic ? { oneOf: [errorSchema, ownSchema] } : ownSchema;
  return { 'application/json': { schema, ...(Object.keys(examples).length > 0 && { examples }) } };
}

const METHOD_NOT_ALLOWED = 'MethodNotAllowed';

/** The answer to a method a documented path does not serve (HttpErrorFilter), in components.responses. */
function methodNotAllowed(): ResponseObject {
  const response: ResponseObject = {
    description:
      'The path exists but does not serve this method (e.g. GET on a webhook): Allow lists the methods it serves.',
    content: {
      'application/json': {
        schema: { $ref: getSchemaPath(ErrorResponseSchema) },
        examples: { methodNotAllowed: METHOD_NOT_ALLOWED_EXAMPLE },
      },
    },
  };
  addResponseHeaders(response, 405, { guarded: false, turns: false });
  return response;
}

function describeGuardedRoutes(app: INestApplication, document: OpenAPIObject): void {
  const routes = routesByOperationId(app);
  const bodies = platformRequestBodies(
    app,
    document,
    [...routes.values()].filter((route) => route.readsBody && route.platform).map((route) => route.platform!),
  );
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation: OperationObject | undefined = path[method];
      const route = operation?.operationId ? routes.get(operation.operationId) : undefined;
      if (!operation || !route) continue;
      if (!operation.tags?.length) operation.tags = [route.platform ?? route.controller];
      if (route.guarded) describeGuardedRoute(document, operation, route, bodies);
      const turns = route.guarded && route.readsBody && route.platform !== undefined;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (response && !('$ref' in response)) {
          addResponseHeaders(response, Number(status), { guarded: route.guarded, turns });
        }
      }
    }
  }
}

/** Documents, on a route only proven callers may use, what the route does not describe itself. */
function describeGuardedRoute(
  document: OpenAPIObject,
  operation: OperationObject,
  route: RouteInfo,
  bodies: ReadonlyMap<string, NonNullable<OperationObject['requestBody']>>,
): void {
  if (route.openedByConfig) {
    operation.security = [];
  } else {
    operation.security ??= WEBHOOK_SECURITY.map((requirement) => ({ ...requirement }));
    if (route.queryToken) operation.security.push({ [addQueryTokenScheme(document, route.queryToken)]: [] });
  }
  const platformBody = route.readsBody && route.platform ? bodies.get(route.platform) : undefined;
  if (platformBody) operation.requestBody = platformBody;
  // `@Body() body: unknown` (validated by hand) gives swagger no type: still say a JSON object is expected.
  if (route.readsBody && !operation.requestBody) {
    operation.requestBody = {
      required: true,
      content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
    };
  }
  // A webhook route answers 200 with its platform's response; say so where the route does not describe it.
  const responses = operation.responses;
  const generated201 = responses['201'] as { description?: string } | undefined;
  if (route.injectsResponse && route.httpCode === undefined && generated201?.description === '') {
    delete responses['201'];
  }
  const ok = responses['200'] as { description?: string; content?: unknown } | undefined;
  const undescribed =
    ok === undefined ? route.injectsResponse && route.httpCode === undefined : ok.description === '' && !ok.content;
  if (undescribed) {
    // A copy: the document's answers get their headers added.
    responses['200'] = (route.sdkAnswer && structuredClone(route.sdkAnswer)) ?? {
      description: `The ${route.platform ?? 'platform'} webhook response.`,
      content: { 'application/json': { schema: { type: 'object' } } },
    };
  }
  const webhookErrors = new Set<number>();
  for (const { status, description, withoutBody } of WEBHOOK_ERRORS) {
    if (route.openedByConfig && (status === 401 || status === 403)) continue;
    const fitting = route.readsBody ? description : withoutBody;
    if (fitting === false) continue;
    webhookErrors.add(status);
    responses[String(status)] ??= { description: fitting };
  }
  const own = route.readsBody && isPlatform(route.platform) ? PLATFORM_ANSWERS[route.platform] : undefined;
  Object.assign((document.components!.schemas ??= {}), own && structuredClone(own.schemas));
  for (const [status, answer] of Object.entries(own?.errors ?? {})) {
    responses[status] = { description: answer.description };
  }
  for (const [status, response] of Object.entries(responses)) {
    const code = Number(status);
    if (code < 400 || !response || '$ref' in response) continue;
    const ownAnswer = own?.errors[code];
    response.content = errorContent(code, route.readsBody, !ownAnswer || webhookErrors.has(code), ownAnswer);
  }
}

/**
 * Serves the document as JSON at /openapi.json and Swagger UI at /docs. The UI's files come from the installed
 * swagger-ui-dist package (no CDN). Call before the application listens. The document is built on its first
 * request (then kept): building it at start-up cost a restarting replica about a twentieth of a second.
 */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH.slice(1), app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH.slice(1),
    raw: ['json'],
    customSiteTitle: 'Webhook fulfillment API',
    swaggerOptions: { persistAuthorization: false },
  });
}
