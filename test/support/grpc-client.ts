import {
  type ChannelCredentials,
  Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials,
  loadPackageDefinition,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { FULFILLMENT_PROTO, HEALTH_PROTO, PROTO_LOADER_OPTIONS } from '../../src/grpc/grpc-proto';

/** A real grpc-js client for the service's own protos, as a bot or an SRE's tool would use them. */
export type GrpcUnary = (
  request: object,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response: unknown) => void,
) => ClientUnaryCall;
export type ServiceClient = Client & Record<string, GrpcUnary & ((request: object) => ClientReadableStream<unknown>)>;
export type ServiceClientConstructor = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Record<string, unknown>,
) => ServiceClient;

const REFLECTION_PROTO = join(
  dirname(require.resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection/v1/reflection.proto',
);

export const grpcServices = loadPackageDefinition({
  ...loadSync([FULFILLMENT_PROTO, HEALTH_PROTO], PROTO_LOADER_OPTIONS),
  ...loadSync(REFLECTION_PROTO, { ...PROTO_LOADER_OPTIONS, includeDirs: [] }),
}) as unknown as {
  fulfillment: { v1: { FulfillmentService: ServiceClientConstructor } };
  grpc: {
    health: { v1: { Health: ServiceClientConstructor } };
    reflection: { v1: { ServerReflection: ServiceClientConstructor } };
  };
};

/**
 * A client on its own connection (no subchannel shared between tests with the same credentials), checking the
 * server certificate for `localhost` as the development certificate names it.
 */
export function openGrpcClient(
  port: number,
  channel: ChannelCredentials = credentials.createInsecure(),
  Service: ServiceClientConstructor = grpcServices.fulfillment.v1.FulfillmentService,
  options: Record<string, string | number> = {},
): ServiceClient {
  return new Service(`127.0.0.1:${port}`, channel, {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.ssl_target_name_override': 'localhost',
    ...options,
  });
}

export function grpcMetadata(entries: Record<string, string> = {}): Metadata {
  const result = new Metadata();
  for (const [name, value] of Object.entries(entries)) result.set(name, value);
  return result;
}

export function unary<T>(
  client: ServiceClient,
  method: string,
  request: object,
  meta: Metadata = new Metadata(),
  deadlineMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, meta, { deadline: new Date(Date.now() + deadlineMs) }, (error, response) =>
      error ? reject(error) : resolve(response as T),
    ),
  );
}

/**
 * Sends `bytes` to `path` as they are, unencoded: what a raw client or a broken proxy can send. Resolves with the
 * call's error, or null when it was answered.
 */
export function rawUnary(
  client: Client,
  path: string,
  bytes: Buffer,
  meta: Metadata = new Metadata(),
): Promise<ServiceError | null> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      bytes,
      meta,
      (error) => resolve(error),
    ),
  );
}

/** The error a call must fail with. */
export async function grpcFailure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error: unknown) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}
