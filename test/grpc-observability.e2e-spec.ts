// First: starts tracing with an in-memory exporter before the application exists.
import { finishedSpans, stopTracing } from './support/in-memory-tracing';

import { credentials, type ServiceError, status } from '@grpc/grpc-js';
import { Module } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  type FulfillmentHandler,
  type FulfillmentRequest,
  type FulfillmentResult,
  IntentHandler,
} from '../src/fulfillment';
import { createRootLogger } from '../src/observability/logging';
import { capturedLog } from '../src/observability/testing/captured-log';
import { UNTRACED_GRPC_METHODS } from '../src/observability/tracing';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { grpcMetadata, grpcServices, openGrpcClient, unary } from './support/grpc-client';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * What an SRE sees of gRPC calls besides the access line: the lines a handler logs carry the call's request id and
 * caller, as over HTTP; health checks and reflection make no trace, as HTTP probes make none, while turns do.
 */

const handlerLog = capturedLog();
/** The service's own line format (its mixin adds the request, caller and trace ids), into memory. */
const handlerLogger = createRootLogger('info', handlerLog.stream);

@IntentHandler('TestLogged')
class LoggedHandler implements FulfillmentHandler {
  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    handlerLogger.info(`handling session ${request.sessionId}`);
    return Promise.resolve({ text: 'logged' });
  }
}

@Module({ providers: [LoggedHandler] })
class LoggedHandlerModule {}

const isGrpcServerSpan = (span: ReadableSpan) =>
  span.kind === SpanKind.SERVER && span.attributes['rpc.system'] === 'grpc';

describe('gRPC calls in the logs and traces (real app, real grpc-js client, in-memory spans)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { GRPC_ENABLED: 'true' }, imports: [LoggedHandlerModule] });
    port = t.grpcPort ?? 0;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await stopTracing();
  });

  it("puts the call's request_id and caller_id (and trace ids) on the lines its handler logs", async () => {
    const client = openGrpcClient(port);
    try {
      await unary(
        client,
        'Fulfill',
        { sessionId: 'grpc-logged', intent: 'TestLogged' },
        grpcMetadata({ authorization: LOCAL_DEV_AUTH.Authorization, 'x-request-id': 'grpc-log-context-1' }),
      );
    } finally {
      client.close();
    }
    const line = handlerLog.lines().find((candidate) => candidate.msg === 'handling session grpc-logged');
    expect(line).toMatchObject({
      request_id: 'grpc-log-context-1',
      caller_id: 'local-dev',
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    // Outside the call, no request is in the context.
    handlerLogger.info('after the call');
    expect(handlerLog.lines().find((candidate) => candidate.msg === 'after the call')).not.toHaveProperty('request_id');
  });

  it('makes no span for health Check and Watch or server reflection, and still one for Fulfill', async () => {
    const health = openGrpcClient(port, credentials.createInsecure(), grpcServices.grpc.health.v1.Health);
    const reflection = openGrpcClient(
      port,
      credentials.createInsecure(),
      grpcServices.grpc.reflection.v1.ServerReflection,
    );
    const turns = openGrpcClient(port);
    try {
      expect(await unary(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });

      const watch = health.Watch({ service: '' });
      const watchEnded = new Promise<void>((resolve) => {
        watch.on('error', (error: ServiceError) => error.code === status.CANCELLED && resolve());
        watch.on('end', resolve);
      });
      await new Promise((resolve) => watch.once('data', resolve));
      watch.cancel();
      await watchEnded;

      const info = (
        reflection as unknown as {
          ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(message: object): boolean };
        }
      ).ServerReflectionInfo();
      const listed = new Promise((resolve) => info.once('data', resolve));
      info.write({ listServices: '*' });
      expect(await listed).toMatchObject({ listServicesResponse: expect.any(Object) as object });
      const infoEnded = new Promise((resolve) => info.once('end', resolve));
      info.resume();
      info.end();
      await infoEnded;

      await unary(
        turns,
        'Fulfill',
        { sessionId: 'grpc-traced', intent: 'TestLogged' },
        grpcMetadata({ authorization: LOCAL_DEV_AUTH.Authorization }),
      );
    } finally {
      health.close();
      reflection.close();
      turns.close();
    }
    // The turn's span ends after the calls before it were answered, and theirs would have ended by then.
    const serverSpans = await eventually(async () => {
      const spans = (await finishedSpans()).filter(isGrpcServerSpan);
      expect(spans.map((span) => span.name)).toContain('grpc.fulfillment.v1.FulfillmentService/Fulfill');
      return spans;
    });
    expect(serverSpans.map((span) => span.name).filter((name) => !name.includes('FulfillmentService'))).toEqual([]);
  });

  it('ignores methods by their name alone: no method of the fulfillment service has one of those names', () => {
    const service = (grpcServices.fulfillment.v1.FulfillmentService as unknown as { service: Record<string, unknown> })
      .service;
    for (const method of Object.keys(service)) expect(UNTRACED_GRPC_METHODS).not.toContain(method);
  });
});
