import {
  type Client,
  credentials,
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { dirname, join } from 'node:path';
import { FULFILLMENT_PROTO, PROTO_LOADER_OPTIONS } from './grpc-proto';
import { cutUnfinishedRequests, stopReadingOnceAnswered } from './unfinished-requests';

const TIMEOUT_MS = 300;
const REFLECTION_PROTO = join(
  dirname(require.resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection/v1/reflection.proto',
);

interface ReflectionStream extends NodeJS.EventEmitter {
  write(request: object): boolean;
  end(): void;
}
type ReflectionClient = Client & { ServerReflectionInfo(): ReflectionStream };

/** Server reflection (a method that streams its requests) on a bare grpc-js server, and a client of it. */
async function serveReflection(): Promise<{ client: ReflectionClient; close: () => void }> {
  const server = new Server({ interceptors: [cutUnfinishedRequests(TIMEOUT_MS)] });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  expect(stopReadingOnceAnswered(server)).toBe(true);
  new ReflectionService(loadSync(FULFILLMENT_PROTO, PROTO_LOADER_OPTIONS)).addToServer(server);
  const { grpc } = loadPackageDefinition(loadSync(REFLECTION_PROTO, PROTO_LOADER_OPTIONS)) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (...args: unknown[]) => ReflectionClient } } };
  };
  const client = new grpc.reflection.v1.ServerReflection(`127.0.0.1:${port}`, credentials.createInsecure());
  return {
    client,
    close: () => {
      client.close();
      server.forceShutdown();
    },
  };
}

describe('cutUnfinishedRequests with stopReadingOnceAnswered (a real grpc-js server)', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('times a streaming request from message to message, and sends the status before it resets the stream', async () => {
    const served = await serveReflection();
    close = served.close;
    const stream = served.client.ServerReflectionInfo();
    const answers: unknown[] = [];
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', (answer) => answers.push(answer));
    const started = performance.now();
    // A request every 200 ms, each within the 300 ms: the stream lives on past 300 ms.
    for (let request = 0; request < 4; request++) {
      stream.write({ listServices: '*' });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(answers).toHaveLength(4);
    // Then none: cut 300 ms after the last, with the status in the trailers (answers went out before them).
    const error = await ended;
    expect(error).toMatchObject({
      code: status.DEADLINE_EXCEEDED,
      details: `The request did not arrive in full within ${TIMEOUT_MS} ms.`,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(4 * 200 + TIMEOUT_MS - 250);
  });

  it('leaves a streaming request alone once it has ended', async () => {
    const served = await serveReflection();
    close = served.close;
    const stream = served.client.ServerReflectionInfo();
    const outcome = new Promise<string>((resolve) => {
      stream.on('error', (error: ServiceError) => resolve(status[error.code]));
      stream.on('end', () => resolve('end'));
    });
    stream.on('data', () => undefined);
    stream.write({ listServices: '*' });
    stream.end();
    expect(await outcome).toBe('end');
  });
});
