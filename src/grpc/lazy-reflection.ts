import type {
  deserialize as Deserialize,
  handleBidiStreamingCall,
  serialize as Serialize,
  Server,
  ServerDuplexStream,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { Logger } from '@nestjs/common';

/** Server reflection's streams: v1, and v1alpha, which older clients (grpcurl before 1.8.8) still ask. */
export const REFLECTION_METHODS: ReadonlySet<string> = new Set([
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
]);

interface ReflectionMethod {
  readonly handler: handleBidiStreamingCall<unknown, unknown>;
  readonly serialize: Serialize<unknown>;
  readonly deserialize: Deserialize<unknown>;
}

/**
 * Serves server reflection on `server`, set up when its first message arrives: the reflection package, its own
 * `.proto` files, our services described with `.proto` field names (`describe`) and its index of every symbol cost
 * about a tenth of a start, for a tool a person runs now and then. The methods are registered at once (through
 * `server.register`, so the decoding guard wraps them like every other method): a call finds them whether or not
 * reflection has been set up yet.
 */
export function addLazyReflection(server: Server, describe: () => PackageDefinition): void {
  let methods: ReadonlyMap<string, ReflectionMethod> | undefined;
  const method = (path: string): ReflectionMethod => {
    methods ??= reflectionMethods(describe());
    const found = methods.get(path);
    if (!found) throw new Error(`@grpc/reflection does not serve ${path}`);
    return found;
  };
  for (const path of REFLECTION_METHODS) {
    server.register<unknown, unknown>(
      path,
      (call: ServerDuplexStream<unknown, unknown>) => {
        let found: ReflectionMethod;
        try {
          found = method(path);
        } catch (error: unknown) {
          // Thrown here it would end the process (grpc-js calls the handler outside any try): the call fails alone.
          new Logger('Grpc').error(`Server reflection could not be set up: ${String(error)}`);
          call.emit('error', { code: status.UNAVAILABLE, details: 'Server reflection is unavailable.' });
          return;
        }
        found.handler(call);
      },
      (value) => method(path).serialize(value),
      (bytes) => method(path).deserialize(bytes),
      'bidi',
    );
  }
}

/** What `ReflectionService.addToServer` would add to a server, by method path. */
function reflectionMethods(definition: PackageDefinition): ReadonlyMap<string, ReflectionMethod> {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on the first reflection call, not at start-up */
  const { ReflectionService } = require('@grpc/reflection') as typeof import('@grpc/reflection');
  const { withFileDependencies } = require('./reflection-descriptors') as typeof import('./reflection-descriptors');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const found = new Map<string, ReflectionMethod>();
  const collector: Pick<Server, 'addService'> = {
    addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
      for (const [name, attributes] of Object.entries(service)) {
        found.set(attributes.path, {
          handler: implementation[name] as handleBidiStreamingCall<unknown, unknown>,
          serialize: attributes.responseSerialize,
          deserialize: attributes.requestDeserialize,
        });
      }
    },
  };
  new ReflectionService(withFileDependencies(definition)).addToServer(collector);
  return found;
}
