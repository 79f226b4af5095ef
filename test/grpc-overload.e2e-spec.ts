/**
 * OVERLOAD_IN_FLIGHT over gRPC: a flood of gRPC calls is what the in-flight check exists for, as much as a flood of
 * HTTP requests. Before, only HTTP requests were counted, so a saturated replica flooded over gRPC never refused a
 * call. The real application, a real grpc-js client, the test's own event loop kept busy (the app shares it).
 */
import { type ClientUnaryCall, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { Module } from '@nestjs/common';
import {
  type FulfillmentHandler,
  type FulfillmentRequest,
  type FulfillmentResult,
  IntentHandler,
} from '../src/fulfillment';
import { EventLoopLoad } from '../src/observability/event-loop-load';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { grpcMetadata, openGrpcClient, type ServiceClient } from './support/grpc-client';
import { startTestApp, type TestApp } from './support/test-app';

const LIMIT = 2;

/** Holds every turn until the test lets them all go. */
@IntentHandler('TestHeld')
class HeldHandler implements FulfillmentHandler {
  private readonly waiting: (() => void)[] = [];

  get held(): number {
    return this.waiting.length;
  }

  handle(_request: FulfillmentRequest): Promise<FulfillmentResult> {
    return new Promise((resolve) => this.waiting.push(() => resolve({ text: 'held' })));
  }

  releaseAll(): void {
    for (const release of this.waiting.splice(0)) release();
  }
}

@IntentHandler('TestQuick')
class QuickHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'quick' });
  }
}

@Module({ providers: [HeldHandler, QuickHandler] })
class OverloadHandlersModule {}

interface Call {
  readonly call: ClientUnaryCall;
  readonly outcome: Promise<ServiceError | null>;
}

/** A Fulfill call, and what became of it: null when answered, else its error. */
function fulfil(
  client: ServiceClient,
  intent: string,
  metadata: Metadata = grpcMetadata({ authorization: LOCAL_DEV_AUTH.Authorization }),
  deadlineMs = 60_000,
): Call {
  let call!: ClientUnaryCall;
  const outcome = new Promise<ServiceError | null>((resolve) => {
    call = client.Fulfill(
      { sessionId: `overload-${intent}`, intent },
      metadata,
      { deadline: new Date(Date.now() + deadlineMs) },
      (error) => resolve(error),
    );
  });
  return { call, outcome };
}

/**
 * Keeps this process's event loop busy in 20 ms slices chained by setImmediate (the loop never waits idle, so it
 * reads as 100 % busy, while sockets are still read between slices) until `done` settles or `maxMs` pass.
 */
async function whileSaturated<T>(work: () => Promise<T>, maxMs = 20_000): Promise<T> {
  let settled = false;
  const until = Date.now() + maxMs;
  const burn = (): void => {
    const sliceEnd = Date.now() + 20;
    while (Date.now() < sliceEnd);
    if (!settled && Date.now() < until) setImmediate(burn);
  };
  burn();
  try {
    // Several 100 ms windows of a saturated loop before the work starts.
    await new Promise((resolve) => setTimeout(resolve, 400));
    return await work();
  } finally {
    settled = true;
  }
}

describe('OVERLOAD_IN_FLIGHT counts gRPC calls (real app, real grpc-js client)', () => {
  let t: TestApp;
  let client: ServiceClient;
  let load: EventLoopLoad;
  let held: HeldHandler;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        GRPC_ENABLED: 'true',
        OVERLOAD_IN_FLIGHT: String(LIMIT),
        OVERLOAD_DELAY_MS: '0',
        GENERIC_DEADLINE_MS: '30000',
      },
      imports: [OverloadHandlersModule],
    });
    client = openGrpcClient(t.grpcPort ?? 0);
    load = t.app.get(EventLoopLoad);
    held = t.app.get(HeldHandler);
  }, 60_000);

  afterAll(async () => {
    held?.releaseAll();
    client?.close();
    await t?.close();
  });

  it('refuses calls past the limit on a saturated loop with UNAVAILABLE, and each call leaves the count when it ends, however it ends', async () => {
    expect(load.requestsInFlight).toBe(0);
    // At most OVERLOAD_IN_FLIGHT calls in hand until the flood below: the test's own work on the shared loop can
    // never get one of these refused.

    // Let in, then refused by the credentials check: counted while it ran, not after.
    const refused = fulfil(client, 'TestQuick', grpcMetadata({ authorization: 'Bearer not-a-known-token' }));
    expect((await refused.outcome)?.code).toBe(status.UNAUTHENTICATED);
    await eventually(() => expect(load.requestsInFlight).toBe(0));

    // A call whose deadline comes while its handler holds it (the turn's budget answers it just before).
    const late = fulfil(client, 'TestHeld', undefined, 1500);
    await eventually(() => expect(load.requestsInFlight).toBe(1));
    await late.outcome;
    await eventually(() => expect(load.requestsInFlight).toBe(0));
    held.releaseAll();

    const first = fulfil(client, 'TestHeld');
    const second = fulfil(client, 'TestHeld');
    const third = fulfil(client, 'TestHeld');
    await eventually(() => expect(held.held).toBe(3), 20_000);
    expect(load.requestsInFlight).toBe(3);

    // Three calls in hand, more than OVERLOAD_IN_FLIGHT, on a loop with no time to spare: the next is refused.
    const overloaded = await whileSaturated(() => fulfil(client, 'TestQuick').outcome);
    expect(overloaded).toMatchObject({
      code: status.UNAVAILABLE,
      details: 'The service is too busy to answer in time; retry shortly.',
    });
    // Refused before it was let in: it was never counted.
    expect(load.requestsInFlight).toBe(3);

    // A call the client cancels.
    first.call.cancel();
    expect((await first.outcome)?.code).toBe(status.CANCELLED);
    await eventually(() => expect(load.requestsInFlight).toBe(2));

    // Back within the limit: let in, whatever the loop does.
    expect(await fulfil(client, 'TestQuick').outcome).toBeNull();

    // Answered.
    held.releaseAll();
    expect(await second.outcome).toBeNull();
    expect(await third.outcome).toBeNull();
    await eventually(() => expect(load.requestsInFlight).toBe(0));
  }, 90_000);
});
