import {
  credentials,
  Client,
  Metadata,
  Server,
  ServerCredentials,
  type ServerInterceptor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { AppError } from '../common/errors/app-error';
import { FULFILLMENT_PROTO, HEALTH_PROTO, PROTO_LOADER_OPTIONS } from './grpc-proto';
import {
  duplicateKeyOf,
  guardRequestDecoding,
  isUndecodable,
  refuseUndecodable,
  refuseUndecodableMessages,
} from './request-decoding';
import { FULFILL_REQUEST_SHAPE } from './struct-wire';

const definitions = loadSync([FULFILLMENT_PROTO, HEALTH_PROTO], PROTO_LOADER_OPTIONS);
const HANDLE_WEBHOOK = '/fulfillment.v1.FulfillmentService/HandleWebhook';
const FULFILL = '/fulfillment.v1.FulfillmentService/Fulfill';

// Hand-encoded protobuf: what a raw client can send and protobufjs would never write.
const field = (number: number, bytes: Buffer): Buffer =>
  Buffer.concat([Buffer.from([number * 8 + 2, bytes.length]), bytes]);
const text = (value: string) => Buffer.from(value);
const entry = (key: string, value: string) =>
  field(1, Buffer.concat([field(1, text(key)), field(2, field(3, text(value)))]));

/** A real grpc-js server on loopback whose handlers hand over the request they were given. */
async function serve(guarded: Parameters<typeof guardRequestDecoding>[1], interceptors: ServerInterceptor[] = []) {
  const server = new Server({ interceptors });
  guardRequestDecoding(server, guarded);
  const received: unknown[] = [];
  const service = definitions['fulfillment.v1.FulfillmentService'] as ServiceDefinition;
  server.addService(service, {
    Fulfill: (call: { request: unknown }, callback: (error: null, reply: object) => void) => {
      received.push(call.request);
      callback(null, {});
    },
    HandleWebhook: (call: { request: unknown }, callback: (error: null, reply: object) => void) => {
      received.push(call.request);
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const send = (path: string, bytes: Buffer) =>
    new Promise<{ code?: number; details?: string }>((resolve) =>
      client.makeUnaryRequest(
        path,
        (value: Buffer) => value,
        (value: Buffer) => value,
        bytes,
        new Metadata(),
        (error) => resolve(error ?? {}),
      ),
    );
  const close = () => {
    client.close();
    server.forceShutdown();
  };
  return { received, send, close };
}

describe('guardRequestDecoding (a real grpc-js server)', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('hands bytes that do not decode to the handler as an empty request marked undecodable', async () => {
    const server = await serve({ [HANDLE_WEBHOOK]: { type: 'HandleWebhookRequest' } });
    close = server.close;
    expect(await server.send(HANDLE_WEBHOOK, Buffer.from([0x12, 0x05, 0x7b]))).toEqual({});
    const [request] = server.received;
    expect(request).toEqual({});
    expect(isUndecodable(request)).toBe(true);
    expect(() => refuseUndecodable(request)).toThrow(
      new AppError(
        'MALFORMED_JSON',
        'The request is not a HandleWebhookRequest that can be decoded: index out of range: 2 + 5 > 3.',
      ),
    );
  });

  it('leaves a request that decodes as it was', async () => {
    const server = await serve({ [HANDLE_WEBHOOK]: { type: 'HandleWebhookRequest' } });
    close = server.close;
    await server.send(HANDLE_WEBHOOK, Buffer.concat([field(1, text('rasa')), field(2, text('{}'))]));
    const [request] = server.received;
    expect(request).toEqual({ platform: 'rasa', json: Buffer.from('{}') });
    expect(isUndecodable(request)).toBe(false);
    expect(() => refuseUndecodable(request)).not.toThrow();
  });

  it('notes a Struct key the bytes repeat, where the method has Structs', async () => {
    const server = await serve({ [FULFILL]: { type: 'FulfillRequest', shape: FULFILL_REQUEST_SHAPE } });
    close = server.close;
    await server.send(FULFILL, field(4, Buffer.concat([entry('amount', '1'), entry('amount', '9')])));
    const [request] = server.received as [object];
    expect(duplicateKeyOf(request)).toBe('parameters.amount');
  });

  it('marks undecodable a request the decoder read but the Struct scan cannot (a Struct sent as a varint)', async () => {
    const server = await serve({ [FULFILL]: { type: 'FulfillRequest', shape: FULFILL_REQUEST_SHAPE } });
    close = server.close;
    const keys = Buffer.concat([entry('amount', '1'), entry('amount', '9')]);
    // protobufjs decodes this as parameters {amount: 9}; the scan would have skipped the varint.
    await server.send(FULFILL, Buffer.concat([Buffer.from([0x20, keys.length]), keys]));
    const [request] = server.received;
    expect(() => refuseUndecodable(request)).toThrow(
      'The request is not a FulfillRequest that can be decoded: parameters with wire type 0.',
    );
  });

  it('leaves methods it was not given to grpc-js, which answers INTERNAL', async () => {
    const server = await serve({ [FULFILL]: { type: 'FulfillRequest', shape: FULFILL_REQUEST_SHAPE } });
    close = server.close;
    expect(await server.send(HANDLE_WEBHOOK, Buffer.from([0x12, 0x05, 0x7b]))).toMatchObject({ code: 13 });
    expect(server.received).toEqual([]);
  });

  it('refuses, before the handler, bytes that do not decode on the paths given to refuseUndecodableMessages', async () => {
    const server = await serve(
      { [HANDLE_WEBHOOK]: { type: 'HandleWebhookRequest' }, [FULFILL]: { type: 'FulfillRequest' } },
      [refuseUndecodableMessages(new Set([HANDLE_WEBHOOK]))],
    );
    close = server.close;
    expect(await server.send(HANDLE_WEBHOOK, Buffer.from([0x12, 0x05, 0x7b]))).toMatchObject({
      code: 3,
      details: 'The request is not a HandleWebhookRequest that can be decoded: index out of range: 2 + 5 > 3.',
    });
    expect(server.received).toEqual([]);
    // Other paths, and bytes that decode, reach their handler.
    await server.send(HANDLE_WEBHOOK, field(1, text('rasa')));
    await server.send(FULFILL, Buffer.from([0x0f])); // wire type 7
    expect(server.received).toHaveLength(2);
    expect(isUndecodable(server.received[1])).toBe(true);
  });
});
