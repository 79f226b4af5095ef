import { ReadReplicas } from '../database/replicas/read-replicas';
import 'reflect-metadata';

import { Body, Controller, Get, HttpCode, Post, Res, type INestApplication } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { OpenAPIObject, ResponseObject } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { Response } from 'express';
import { JobQueue } from '../async/job-queue';
import { CallerAuthGuard } from '../auth/caller-auth.guard';
import { WebhookPlatform } from '../common/platform';
import { AppConfig } from '../config';
import { DatabaseAvailability } from '../database/database-availability';
import { HealthController } from '../health/health.controller';
import { Readiness } from '../health/readiness';
import { CallerGuards } from '../throttling/caller-guards.decorator';
import { CallerThrottlerGuard } from '../throttling/caller-throttler.guard';
import { FulfillmentsController } from '../platforms/fulfillments.controller';
import { FulfillmentLookup } from '../turn/fulfillment-lookup';
import { renderResponse } from '../platforms/generic/generic.adapter';
import { GenericController } from '../platforms/generic/generic.controller';
import { WebhookRunner } from '../platforms/webhook-runner';
import { RasaAdapter } from '../platforms/rasa/rasa.adapter';
import { RasaActionCall } from '../platforms/rasa/rasa.request';
import { GenericWebhookRequest } from '../platforms/generic/generic.request';
import { PlatformAdapters } from '../platforms/platform-adapters';
import { RasaSdkRouteGuard } from '../platforms/rasa/rasa-sdk-route.guard';
import { RasaController } from '../platforms/rasa/rasa.controller';
import { RasaSdkController } from '../platforms/rasa/rasa-sdk.controller';
import { WEBHOOK_SECURITY } from './api-webhook.decorators';
import { RESPONSE_HEADERS } from './response-headers';
import { buildOpenApiDocument } from './openapi';

/** Stands for a platform controller another team adds: no swagger decorators at all. */
@Controller('v1/webhooks/some-platform')
@WebhookPlatform('dialogflow-cx')
@CallerGuards()
class UndecoratedWebhookController {
  @Post()
  fulfill(@Body() _body: unknown, @Res() response: Response): void {
    response.end();
  }

  @Get('health')
  health(@Res() response: Response): void {
    response.end();
  }
}

@Controller('public')
class PublicController {
  @Post('ping')
  @HttpCode(204)
  ping(): void {}
}

/** The document of the test controllers, with the Rasa SDK routes open or not (RASA_OPEN_ENDPOINTS). */
async function documentOf(rasaOpenEndpoints: boolean): Promise<{ app: INestApplication; document: OpenAPIObject }> {
  // The document only reads controller metadata: what the controllers depend on (the turn pipeline, PostgreSQL,
  // the job queue) is stubbed, so no database is needed.
  const module = await Test.createTestingModule({
    imports: [DiscoveryModule],
    controllers: [
      GenericController,
      FulfillmentsController,
      HealthController,
      UndecoratedWebhookController,
      PublicController,
      RasaController,
      RasaSdkController,
    ],
    providers: [
      { provide: WebhookRunner, useValue: {} },
      { provide: AppConfig, useValue: { rasa: { openEndpoints: rasaOpenEndpoints } } },
      { provide: RasaAdapter, useValue: {} },
      { provide: FulfillmentLookup, useValue: {} },
      { provide: HealthCheckService, useValue: {} },
      { provide: HealthIndicatorService, useValue: {} },
      { provide: Readiness, useValue: {} },
      { provide: DatabaseAvailability, useValue: {} },
      { provide: JobQueue, useValue: {} },
      { provide: ReadReplicas, useValue: {} },
      {
        provide: PlatformAdapters,
        useValue: {
          get: (platform: string) =>
            platform === 'rasa'
              ? { requestType: RasaActionCall, requestName: 'Rasa action call' }
              : { requestType: GenericWebhookRequest, requestName: 'generic webhook request' },
        },
      },
    ],
  })
    .overrideGuard(CallerAuthGuard)
    .useValue({ canActivate: () => true })
    .overrideGuard(CallerThrottlerGuard)
    .useValue({ canActivate: () => true })
    .overrideGuard(RasaSdkRouteGuard)
    .useValue({ canActivate: () => true })
    .compile();
  const app = module.createNestApplication({ logger: false });
  return { app, document: buildOpenApiDocument(app) };
}

describe('buildOpenApiDocument', () => {
  let app: INestApplication;
  let document: OpenAPIObject;

  beforeAll(async () => {
    ({ app, document } = await documentOf(false));
  });
  afterAll(() => app?.close());

  it("lists Rasa's ?token= as one more credential on the Rasa routes only", () => {
    expect(document.components?.securitySchemes?.['query-token']).toMatchObject({
      type: 'apiKey',
      in: 'query',
      name: 'token',
    });
    for (const path of ['/v1/webhooks/rasa/health', '/v1/webhooks/rasa/actions']) {
      const operation = document.paths[path].get!;
      expect(operation.security).toEqual([...WEBHOOK_SECURITY, { 'query-token': [] }]);
      expect(operation.responses).toHaveProperty('401');
    }
    expect(document.paths['/v1/webhooks/generic'].post!.security).not.toContainEqual({ 'query-token': [] });
  });

  it('documents the Rasa SDK routes as open, without 401 or 403, when RASA_OPEN_ENDPOINTS opens them', async () => {
    const open = await documentOf(true);
    try {
      const operation = open.document.paths['/v1/webhooks/rasa/health'].get!;
      expect(operation.security).toEqual([]);
      expect(operation.responses).not.toHaveProperty('401');
      expect(operation.responses).not.toHaveProperty('403');
      expect(open.document.paths['/v1/webhooks/generic'].post!.security).toHaveLength(WEBHOOK_SECURITY.length);
    } finally {
      await open.app.close();
    }
  });

  it('is OpenAPI 3.1 with every security scheme', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.components?.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      basic: { type: 'http', scheme: 'basic' },
      'webhook-id': { type: 'apiKey', in: 'header', name: 'webhook-id' },
      'webhook-timestamp': { type: 'apiKey', in: 'header', name: 'webhook-timestamp' },
      'webhook-signature': { type: 'apiKey', in: 'header', name: 'webhook-signature' },
      'header-signature': { type: 'apiKey', in: 'header' },
      mutualTLS: { type: 'mutualTLS' },
    });
  });

  it('lists every controller route, without hard-coding them, except the excluded health probes', () => {
    expect(Object.keys(document.paths).sort()).toEqual([
      '/public/ping',
      '/v1/fulfillments/{id}',
      '/v1/webhooks/generic',
      '/v1/webhooks/rasa',
      '/v1/webhooks/rasa/actions',
      '/v1/webhooks/rasa/health',
      '/v1/webhooks/some-platform',
      '/v1/webhooks/some-platform/health',
    ]);
    // HealthController (GET /health/live, /health/ready) is @ApiExcludeController: probes are not API.
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/health'))).toEqual([]);
  });

  it('documents polling a fulfillment: auth, errors and a 200 JSON answer, no body', () => {
    const operation = document.paths['/v1/fulfillments/{id}'].get!;
    expect(operation.tags).toEqual(['Fulfillments']);
    expect(operation.security).toEqual([...WEBHOOK_SECURITY]);
    expect(operation.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }));
    expect(operation.requestBody).toBeUndefined();
    expect(Object.keys(operation.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '422',
      '429',
      '500',
      '503',
    ]);
    expect(operation.responses['200']).toMatchObject({
      content: { 'application/json': { schema: { $ref: expect.stringContaining('FulfillmentStatusSchema') } } },
    });
  });

  it('documents the generic route from its own decorators', () => {
    const operation = document.paths['/v1/webhooks/generic'].post!;
    expect(operation.tags).toEqual(['generic']);
    expect(operation.security).toEqual(expect.arrayContaining([...WEBHOOK_SECURITY]));
    expect(operation.security).toHaveLength(WEBHOOK_SECURITY.length);
    expect(Object.keys(operation.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '422',
      '429',
      '500',
      '503',
    ]);
    expect(operation.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
  });

  it('describes auth, errors, a 200 JSON answer and a JSON body on an undecorated guarded route', () => {
    const operation = document.paths['/v1/webhooks/some-platform'].post!;
    expect(operation.tags).toEqual(['dialogflow-cx']);
    expect(operation.security).toEqual([...WEBHOOK_SECURITY]);
    expect(operation.requestBody).toMatchObject({ required: true, content: { 'application/json': {} } });
    expect(Object.keys(operation.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '422',
      '429',
      '500',
      '503',
    ]);
    // A route that takes no body is refused no body (413, 415) and runs no turn (409), but the caller's
    // authentication can still answer 503 (the replay check, the password-check budget), and so can overload, and
    // 422 (a webhook-id already used for another path).
    const health = document.paths['/v1/webhooks/some-platform/health'].get!;
    expect(Object.keys(health.responses).sort()).toEqual(['200', '400', '401', '403', '422', '429', '500', '503']);
    expect((health.responses['503'] as { description: string }).description).toMatch(/replay check.*password checks/);
  });

  it('leaves routes without CallerAuthGuard open and as generated', () => {
    const operation = document.paths['/public/ping'].post!;
    expect(operation.security).toBeUndefined();
    expect(Object.keys(operation.responses)).toEqual(['204']);
    expect(operation.tags).toEqual(['Public']);
  });

  it('documents every field the generic adapter can send', () => {
    const schema = document.components?.schemas?.GenericWebhookResponseSchema as {
      properties: Record<string, unknown>;
      required: string[];
    };
    const full = renderResponse(
      {
        text: 't',
        messages: [],
        contexts: [],
        followupEvent: { name: 'e' },
        payload: {},
        source: 's',
        endConversation: true,
        sessionParameters: {},
        elicit: { parameter: 'p' },
        confirm: true,
        handoff: {},
        delegate: true,
        failed: true,
        transition: {},
      },
      'fulfilled',
      'r',
    );
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(full).sort());
    expect(schema.required.sort()).toEqual(['messages', 'outcome', 'requestId', 'text']);
  });

  it("documents the Rasa webhook's own error bodies: 404 the SDK's only, 400 the SDK's or ours", () => {
    const responses = document.paths['/v1/webhooks/rasa'].post!.responses as Record<string, ResponseObject>;
    const media = (status: number) => responses[String(status)].content!['application/json'];
    expect(media(404).schema).toEqual({ $ref: '#/components/schemas/RasaErrorResponse' });
    expect(media(400).schema).toEqual({
      oneOf: [{ $ref: '#/components/schemas/ErrorResponseSchema' }, { $ref: '#/components/schemas/RasaErrorResponse' }],
    });
    // Validation failures are answered in the SDK's body: the generic example of one is left out.
    expect(Object.keys(media(400).examples!).sort()).toEqual([
      'invalidActionCall',
      'malformedJson',
      'malformedRequest',
    ]);
    expect(document.components?.schemas?.RasaErrorResponse).toMatchObject({
      required: ['error'],
      additionalProperties: false,
    });
    expect(media(401).schema).toEqual({ $ref: '#/components/schemas/ErrorResponseSchema' });
  });

  it("documents the Rasa SDK routes' 200 bodies: the action list is an array", () => {
    const ok = (path: string) =>
      (document.paths[path].get!.responses['200'] as ResponseObject).content!['application/json'].schema;
    expect(ok('/v1/webhooks/rasa/actions')).toMatchObject({ type: 'array', items: { required: ['name'] } });
    expect(ok('/v1/webhooks/rasa/health')).toMatchObject({ required: ['status'] });
  });

  it('declares the response headers and refers to them from each answer that can carry them', () => {
    expect(document.components?.headers).toEqual(RESPONSE_HEADERS);
    const headers = (path: string, method: 'get' | 'post', status: number) =>
      Object.keys((document.paths[path][method]!.responses[String(status)] as ResponseObject).headers ?? {});
    for (const [path, method] of [
      ['/v1/webhooks/generic', 'post'],
      ['/v1/webhooks/rasa/health', 'get'],
      ['/v1/fulfillments/{id}', 'get'],
    ] as const) {
      for (const status of Object.keys(document.paths[path][method]!.responses)) {
        expect(headers(path, method, Number(status))).toContain('X-Request-Id');
      }
      expect(headers(path, method, 200)).toEqual(expect.arrayContaining(['RateLimit-Policy', 'RateLimit']));
      expect(headers(path, method, 401)).toEqual(expect.arrayContaining(['WWW-Authenticate']));
      expect(headers(path, method, 401)).not.toContain('RateLimit');
      expect(headers(path, method, 429)).toEqual(expect.arrayContaining(['Retry-After', 'RateLimit']));
      expect(headers(path, method, 503)).toContain('Retry-After');
    }
    expect(headers('/v1/webhooks/generic', 'post', 200)).toContain('Idempotent-Replayed');
    expect(headers('/v1/webhooks/generic', 'post', 409)).toContain('Retry-After');
    // Polling describes its own Retry-After (while the work runs) beside the shared ones.
    const poll = document.paths['/v1/fulfillments/{id}'].get!.responses['200'] as ResponseObject;
    expect(poll.headers?.['Retry-After']).toMatchObject({ schema: { type: 'integer' } });
    expect(headers('/public/ping', 'post', 204)).toEqual(['X-Request-Id']);
    expect(document.components?.responses?.MethodNotAllowed).toMatchObject({
      headers: { Allow: { $ref: '#/components/headers/Allow' } },
    });
  });

  it('describes the error body of HttpErrorFilter', () => {
    const schema = document.components?.schemas?.ErrorResponseSchema as { required: string[] };
    expect(schema.required.sort()).toEqual(['error', 'message', 'requestId', 'statusCode']);
  });
});
