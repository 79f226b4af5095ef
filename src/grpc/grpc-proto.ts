import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { join } from 'node:path';

/** The .proto files, copied next to the compiled code by the build (scripts/build.mjs). */
export const PROTO_DIR = join(__dirname, 'proto');
export const FULFILLMENT_PROTO = 'fulfillment/v1/fulfillment.proto';
export const HEALTH_PROTO = 'grpc/health/v1/health.proto';
export const GRPC_PACKAGES = ['fulfillment.v1', 'grpc.health.v1'];
export const FULFILLMENT_SERVICE = 'fulfillment.v1.FulfillmentService';

/**
 * How messages look in JavaScript, for the server and for clients that load the same files: camelCase fields,
 * enums as their names, unset fields absent (proto3 has no null), oneofs named.
 */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** Loads every service we serve, once: the transport, reflection and health use the same definition. */
export function loadGrpcDefinitions(): PackageDefinition {
  return loadSync([FULFILLMENT_PROTO, HEALTH_PROTO], PROTO_LOADER_OPTIONS);
}

/**
 * The same files for server reflection, with the field names as written in the .proto files (snake_case), so
 * grpcurl and `buf curl` show and accept them (the JSON names stay camelCase).
 */
export function loadReflectionDefinitions(): PackageDefinition {
  return loadSync([FULFILLMENT_PROTO, HEALTH_PROTO], { ...PROTO_LOADER_OPTIONS, keepCase: true });
}
