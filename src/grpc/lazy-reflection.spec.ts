import { EventEmitter } from 'node:events';
import { type Server, type ServerDuplexStream, status } from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { loadReflectionDefinitions } from './grpc-proto';
import { addLazyReflection, REFLECTION_METHODS } from './lazy-reflection';

interface Registered {
  handler: (call: ServerDuplexStream<unknown, unknown>) => void;
  serialize: (value: unknown) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
  type: string;
}

function fakeServer(): { server: Server; registered: Map<string, Registered> } {
  const registered = new Map<string, Registered>();
  const server = {
    register: (name: string, handler, serialize, deserialize, type: string) => {
      registered.set(name, { handler, serialize, deserialize, type } as Registered);
      return true;
    },
  } as Server;
  return { server, registered };
}

/** A reflection stream: the messages the handler writes. */
function stream(): { call: ServerDuplexStream<unknown, unknown>; written: unknown[] } {
  const written: unknown[] = [];
  const call = Object.assign(new EventEmitter(), {
    write: (message: unknown) => written.push(message),
    end: () => undefined,
  }) as unknown as ServerDuplexStream<unknown, unknown>;
  return { call, written };
}

describe('addLazyReflection', () => {
  it('registers both reflection streams at once, and describes the services only on the first call', () => {
    const { server, registered } = fakeServer();
    const describe = jest.fn(loadReflectionDefinitions);
    addLazyReflection(server, describe);
    expect([...registered.keys()]).toEqual([...REFLECTION_METHODS]);
    expect([...registered.values()].map((method) => method.type)).toEqual(['bidi', 'bidi']);
    expect(describe).not.toHaveBeenCalled();

    for (const path of REFLECTION_METHODS) {
      const { call, written } = stream();
      const method = registered.get(path)!;
      method.handler(call);
      call.emit('data', { listServices: '*', messageRequest: 'listServices' });
      expect(written).toEqual([
        expect.objectContaining({
          listServicesResponse: {
            service: expect.arrayContaining([{ name: 'fulfillment.v1.FulfillmentService' }]),
          },
        }),
      ]);
      // The answer goes out in the reflection service's own encoding.
      expect(method.serialize(written[0]).length).toBeGreaterThan(0);
    }
    expect(describe).toHaveBeenCalledTimes(1);
  });

  it('decodes a first message before anything else set it up (the decoding guard calls deserialize first)', () => {
    const { server, registered } = fakeServer();
    addLazyReflection(server, loadReflectionDefinitions);
    const [path] = REFLECTION_METHODS;
    // ServerReflectionRequest { list_services = 7: "*" }
    expect(registered.get(path)!.deserialize(Buffer.from([0x3a, 0x01, 0x2a]))).toMatchObject({ listServices: '*' });
  });
});

describe('addLazyReflection when reflection cannot be set up', () => {
  it('fails the call with UNAVAILABLE and logs why, where a throw would end the process', () => {
    const { server, registered } = fakeServer();
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      addLazyReflection(server, () => {
        throw new Error('no descriptors');
      });
      const { call } = stream();
      const failed: unknown[] = [];
      call.on('error', (status) => failed.push(status));
      expect(() => registered.get([...REFLECTION_METHODS][0])!.handler(call)).not.toThrow();
      expect(failed).toEqual([{ code: status.UNAVAILABLE, details: 'Server reflection is unavailable.' }]);
      expect(error).toHaveBeenCalledWith('Server reflection could not be set up: Error: no descriptors');
    } finally {
      error.mockRestore();
    }
  });
});
