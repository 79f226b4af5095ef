import { auditTransportRefusals } from './grpc-transport-refusals';
import { guardRequestDecoding, refuseUndecodableMessages, type RequestDecoding } from './request-decoding';
import { FULFILL_REQUEST_SHAPE, HANDLE_WEBHOOK_REQUEST_SHAPE, HEALTH_CHECK_REQUEST_SHAPE } from './struct-wire';
import { ServerCredentials } from '@grpc/grpc-js';
import { type INestApplication, Logger } from '@nestjs/common';
import type { CustomStrategy } from '@nestjs/microservices';
import { readTlsMaterial } from '../auth/tls/tls-options';
import { TlsReloader } from '../auth/tls/tls-reloader';
import type { AppConfig } from '../config';
import { ReloadableServerCredentials } from './grpc-credentials';
import { GrpcConnections } from './grpc-connections';
import { GrpcEndpoint } from './grpc-endpoint';
import { loadGrpcDefinitions, loadReflectionDefinitions } from './grpc-proto';
import { FulfillmentGrpcTransport } from './grpc.transport';
import { grpcAccessLog, watchGrpcServer } from './grpc-access-log';
import { accessLogger } from '../observability/access-log';
import { rootLogger } from '../observability/logging';
import { adaptIncomingHeaders } from './repeated-headers';
import { logGrpcJsMessages } from './grpc-js-log';
import { cutUnfinishedRequests, stopReadingOnceAnswered } from './unfinished-requests';
import { watchCallEnds } from './call-end';
import { logCallsInContext } from './grpc-log-context';
import { REFLECTION_METHODS } from './lazy-reflection';
import { type AuthenticatedMethod, UnauthenticatedCalls } from './unauthenticated-calls';

const logger = new Logger('Grpc');

/** Every method's requests, refused as the client's fault when their bytes do not decode. */
const GUARDED_REQUESTS: Readonly<Record<string, RequestDecoding>> = {
  '/fulfillment.v1.FulfillmentService/Fulfill': { type: 'FulfillRequest', shape: FULFILL_REQUEST_SHAPE },
  '/fulfillment.v1.FulfillmentService/HandleWebhook': {
    type: 'HandleWebhookRequest',
    shape: HANDLE_WEBHOOK_REQUEST_SHAPE,
  },
  '/grpc.health.v1.Health/Check': { type: 'HealthCheckRequest', shape: HEALTH_CHECK_REQUEST_SHAPE },
  '/grpc.health.v1.Health/Watch': { type: 'HealthCheckRequest', shape: HEALTH_CHECK_REQUEST_SHAPE },
  ...Object.fromEntries([...REFLECTION_METHODS].map((path) => [path, { type: 'ServerReflectionRequest' }])),
};

/** The methods behind GrpcCallerAuthGuard; signature schemes apply to those that relay signed bytes. */
const AUTHENTICATED_METHODS: Readonly<Record<string, AuthenticatedMethod>> = {
  '/fulfillment.v1.FulfillmentService/Fulfill': { signed: false },
  '/fulfillment.v1.FulfillmentService/HandleWebhook': { signed: true },
};

/**
 * Request bytes that calls not yet authenticated may hold together (at least a few requests at the size limit): a
 * request held whole costs about three times its size (its chunks, the message they make, the decoded fields), and
 * the chart's memory limit is 512 MiB.
 */
const UNAUTHENTICATED_BUDGET_BYTES = 16 * 1024 * 1024;
const UNAUTHENTICATED_BUDGET_MESSAGES = 4;

/** Room for the protobuf framing around a HandleWebhook body of BODY_LIMIT_BYTES. */
const MESSAGE_OVERHEAD_BYTES = 16 * 1024;

/**
 * Serves the gRPC port (GRPC_PORT, same host as HTTP) when GRPC_ENABLED: FulfillmentService, grpc.health.v1
 * and server reflection (GRPC_REFLECTION). With TLS configured it uses the HTTPS certificate, CA bundle, CRL and client-certificate
 * mode, and follows their reloads (connections verified under an old trust store are drained); without TLS it is
 * plaintext, which the configuration only allows on loopback or behind a TLS-terminating proxy.
 * Resolves with the bound port (GRPC_PORT=0 picks a free one), or undefined when gRPC is disabled.
 */
export async function connectGrpc(app: INestApplication, config: AppConfig): Promise<number | undefined> {
  if (!config.grpc.enabled) return undefined;
  logGrpcJsMessages();
  const endpoint = app.get(GrpcEndpoint);
  const connections = app.get(GrpcConnections);
  const reloader = app.get(TlsReloader);
  const tls = config.tls;
  let credentials: ServerCredentials | undefined;
  let stopFollowing: (() => void) | undefined;
  const access = accessLogger(rootLogger(config.logLevel));
  const maxReceiveMessageLength = config.http.bodyLimitBytes + MESSAGE_OVERHEAD_BYTES;
  const unauthenticated = app.get(UnauthenticatedCalls).interceptor({
    authenticated: AUTHENTICATED_METHODS,
    budgetBytes: Math.max(UNAUTHENTICATED_BUDGET_BYTES, UNAUTHENTICATED_BUDGET_MESSAGES * maxReceiveMessageLength),
  });

  const transport = new FulfillmentGrpcTransport({
    host: config.http.host,
    port: config.grpc.port,
    maxConnectionAgeMs: config.grpc.maxConnectionAgeMs,
    credentials: () =>
      (credentials = tls
        ? new ReloadableServerCredentials(tls, readTlsMaterial(tls))
        : ServerCredentials.createInsecure()),
    packageDefinition: loadGrpcDefinitions(),
    reflectionDefinition: config.grpc.reflection ? loadReflectionDefinitions : undefined,
    maxReceiveMessageLength,
    interceptors: [
      grpcAccessLog(access, {
        probePercent: config.observability.accessLogProbePercent,
        cuttingAtShutdown: () => endpoint.cuttingAtShutdown,
      }),
      // Every status from here on passes it, and the one it sends at a shutdown's cut passes the access log.
      endpoint.runningCalls(),
      cutUnfinishedRequests(config.http.requestTimeoutMs),
      unauthenticated,
      // Server reflection's handler is not ours: an undecodable message is refused before it.
      refuseUndecodableMessages(REFLECTION_METHODS),
      watchCallEnds(),
    ],
    onBound: (server, address, port) => {
      guardRequestDecoding(server, GUARDED_REQUESTS);
      logCallsInContext(server);
      if (!watchGrpcServer(server, access)) {
        logger.warn('Cannot see calls to unknown gRPC methods with this grpc-js version: they get no access line');
      }
      endpoint.started(address, port, transport, () => server.forceShutdown());
      connections.observe(server);
      auditTransportRefusals(server);
      if (!stopReadingOnceAnswered(server)) {
        logger.warn(
          'Cannot reset gRPC streams answered before their request ended with this grpc-js version: such a stream ' +
            'is held until the client ends it',
        );
      }
      if (!adaptIncomingHeaders(server)) {
        logger.warn(
          'Cannot adapt gRPC headers with this grpc-js version: a repeated credential is read once, and a timeout ' +
            'of 25 days or more is taken as already past',
        );
      }
      const reloadable = credentials instanceof ReloadableServerCredentials ? credentials : undefined;
      if (reloadable) {
        stopFollowing = reloader.onReload((material, trustChanged) => {
          reloadable.reload(material);
          // Connections verified under the old trust store must verify again: GOAWAY now, cut after the grace.
          if (trustChanged) server.drain(address, config.shutdown.graceMs);
        });
      }
    },
    onClose: () => stopFollowing?.(),
  });
  const strategy: CustomStrategy = { strategy: transport };
  app.connectMicroservice(strategy, { inheritAppConfig: false });
  await app.startAllMicroservices();
  return endpoint.port;
}
