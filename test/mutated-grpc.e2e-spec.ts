/**
 * The generic format's requests, mutated at random as in mutated-bodies, sent as typed gRPC `Fulfill` calls to the
 * real app: the Structs (parameters, session parameters, a context's parameters) carry whatever the mutation made,
 * and a text field given another type carries that value's JSON text. Each answer is a `FulfillResponse` with its
 * outcome and text, or a clear refusal (INVALID_ARGUMENT, FAILED_PRECONDITION) whose details give nothing away;
 * never INTERNAL or UNKNOWN. The same goes for encoded requests whose bytes are then changed (`Fulfill`, and
 * `HandleWebhook` with each platform's first fixture), whether they still decode or not.
 * WF_MUTATION_SEED=<n> replays or varies a run, as for mutated-bodies.
 */
import { type Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { toStruct, toValue } from '../src/grpc/struct';
import { LEAKS } from './support/answer-checks';
import { grpcMetadata, grpcServices, openGrpcClient, rawUnary, type ServiceClient, unary } from './support/grpc-client';
import { fixturesOf, type Json, mutate, randomSource } from './support/mutations';
import { PLATFORMS } from '../src/common/platform';
import { startTestApp, type TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

const SEED = Number(process.env.WF_MUTATION_SEED ?? 20261204);
const MUTANTS_PER_FIXTURE = 12;
const WIRE_MUTANTS_PER_REQUEST = 10;
/** What a refusal of a typed call may be: the request is wrong, or its turn id was used for another request. */
const REFUSALS = new Set<number>([status.INVALID_ARGUMENT, status.FAILED_PRECONDITION]);

const STAGES: Record<string, string> = { dialog: 'STAGE_DIALOG', fulfillment: 'STAGE_FULFILLMENT' };
const CONFIRMATIONS: Record<string, string> = {
  none: 'CONFIRMATION_NONE',
  confirmed: 'CONFIRMATION_CONFIRMED',
  denied: 'CONFIRMATION_DENIED',
};

/** A text field as a client would fill it from a JSON document: text as it is, anything else as its JSON. */
function text(value: Json | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A Struct field from any JSON value: an object as it is, anything else inside one (it still reaches the server). */
function struct(value: Json | undefined): ReturnType<typeof toStruct> | undefined {
  if (value === undefined) return undefined;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return toStruct(value);
  return { fields: { value: toValue(value) } };
}

/** An enum field: the JSON spelling mapped to the proto's name; an unknown text or any other value as a number. */
function enumValue(value: Json | undefined, names: Record<string, string>): string | number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return names[value] ?? 97;
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? value : 98;
}

/** The mutated generic body as a `FulfillRequest`. */
function fulfillRequest(body: Json): Record<string, unknown> {
  const source = body !== null && typeof body === 'object' && !Array.isArray(body) ? body : { value: body };
  const contexts = Array.isArray(source.contexts)
    ? source.contexts
    : source.contexts === undefined
      ? []
      : [source.contexts];
  return {
    requestId: text(source.requestId),
    sessionId: text(source.sessionId),
    intent: text(source.intent),
    parameters: struct(source.parameters),
    sessionParameters: struct(source.sessionParameters),
    contexts: contexts.map((context) => {
      const fields = context !== null && typeof context === 'object' && !Array.isArray(context) ? context : {};
      const lifespan = typeof fields.lifespan === 'number' && Number.isInteger(fields.lifespan) ? fields.lifespan : 0;
      return {
        name: text(fields.name) ?? '',
        lifespan: Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, lifespan)),
        parameters: struct(fields.parameters),
      };
    }),
    stage: enumValue(source.stage, STAGES),
    confirmation: enumValue(source.confirmation, CONFIRMATIONS),
    text: text(source.text),
    languageCode: text(source.languageCode),
  };
}

interface Answer {
  readonly response?: { outcome?: unknown; text?: unknown };
  readonly error?: ServiceError;
}

function problemsOf(answer: Answer): string[] {
  if (answer.response) {
    const { outcome, text: reply } = answer.response;
    return typeof outcome === 'string' && typeof reply === 'string'
      ? []
      : ['a FulfillResponse without outcome and text'];
  }
  const error = answer.error as ServiceError;
  if (LEAKS.test(error.details ?? '')) return [`the details give away internals: ${error.details}`];
  if (!REFUSALS.has(error.code)) return [`${status[error.code] ?? error.code}: ${error.details}`];
  return error.details ? [] : [`${status[error.code]} without details`];
}

/**
 * Encoded bytes changed as a raw client or a broken proxy could: a byte set to another value, bytes cut off, put in,
 * left out, or repeated. What comes out may still decode (as another request) or not at all.
 */
function mutateWire(bytes: Buffer, random: () => number): { bytes: Buffer; step: string } {
  const at = Math.floor(random() * (bytes.length + 1));
  const length = 1 + Math.floor(random() * 8);
  const noise = Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
  switch (Math.floor(random() * 5)) {
    case 0: {
      const index = Math.min(at, bytes.length - 1);
      const changed = Buffer.from(bytes);
      changed[index] = noise[0];
      return { bytes: changed, step: `byte ${index} set to ${noise[0]}` };
    }
    case 1:
      return { bytes: bytes.subarray(0, at), step: `cut at ${at}` };
    case 2:
      return {
        bytes: Buffer.concat([bytes.subarray(0, at), noise, bytes.subarray(at)]),
        step: `${length} put in at ${at}`,
      };
    case 3:
      return {
        bytes: Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + length)]),
        step: `${length} left out at ${at}`,
      };
    default:
      return {
        bytes: Buffer.concat([bytes.subarray(0, at + length), bytes.subarray(at)]),
        step: `${length} repeated at ${at}`,
      };
  }
}

describe(`the generic format's requests, mutated at random, as typed gRPC Fulfill calls (seed ${SEED})`, () => {
  let t: TestApp;
  let client: ServiceClient;
  let credentials: Metadata;

  beforeAll(async () => {
    // Thousands of turns from one caller: its rate limit is not what this test is about.
    t = await startTestApp({
      imports: [TestHandlersModule],
      env: { GRPC_ENABLED: 'true', THROTTLE_LIMIT: '1000000' },
    });
    client = openGrpcClient(t.grpcPort ?? 0);
    credentials = grpcMetadata({ authorization: 'Bearer local-dev-token' });
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  it('answers a FulfillResponse or a clear refusal, never INTERNAL or UNKNOWN', async () => {
    const random = randomSource(SEED);
    const failures: string[] = [];
    const codes = new Map<string, number>();
    let turns = 0;
    for (const fixture of fixturesOf('generic')) {
      for (let mutant = 0; mutant < MUTANTS_PER_FIXTURE; mutant += 1) {
        const original = JSON.parse(JSON.stringify(fixture.body)) as Record<string, Json>;
        if (typeof original.requestId === 'string') original.requestId = `grpc-mutant-${++turns}`;
        const { body, steps } = mutate(original, random);
        const answer = await unary<{ outcome?: unknown; text?: unknown }>(
          client,
          'Fulfill',
          fulfillRequest(body),
          credentials,
        ).then(
          (response): Answer => ({ response }),
          (error: ServiceError): Answer => ({ error }),
        );
        // Nested deeper than protobufjs encodes (about 100 messages; a list in a list is two): the client cannot send
        // it. Sent raw, it is INVALID_ARGUMENT once authenticated (test/access-log).
        if (answer.error?.details?.startsWith('Request message serialization failure')) {
          codes.set('unsendable', (codes.get('unsendable') ?? 0) + 1);
          continue;
        }
        const code = answer.error ? (status[answer.error.code] ?? String(answer.error.code)) : 'OK';
        codes.set(code, (codes.get(code) ?? 0) + 1);
        for (const problem of problemsOf(answer)) {
          failures.push(`${fixture.name} #${mutant} [${steps.join('; ')}]: ${problem}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // The mutations reach both sides: some calls are still answered, some are refused.
    expect(codes.get('OK')).toBeGreaterThan(0);
    expect(codes.get('INVALID_ARGUMENT')).toBeGreaterThan(0);
  }, 120_000);

  it('answers bytes mutated on the wire (Fulfill, and HandleWebhook for each platform) as clearly, never INTERNAL', async () => {
    const random = randomSource(SEED + 1);
    const { service } = grpcServices.fulfillment.v1.FulfillmentService as unknown as {
      service: Record<'Fulfill' | 'HandleWebhook', { requestSerialize: (value: object) => Buffer }>;
    };
    const requests = [
      ...fixturesOf('generic').map(({ name, body }) => ({
        name,
        path: '/fulfillment.v1.FulfillmentService/Fulfill',
        bytes: service.Fulfill.requestSerialize(fulfillRequest(body)),
      })),
      ...PLATFORMS.map((platform) => {
        const [{ name, body }] = fixturesOf(platform);
        const json = Buffer.from(JSON.stringify(body));
        return {
          name,
          path: '/fulfillment.v1.FulfillmentService/HandleWebhook',
          bytes: service.HandleWebhook.requestSerialize({ platform, json }),
        };
      }),
    ];
    const failures: string[] = [];
    const codes = new Map<string, number>();
    for (const request of requests) {
      for (let mutant = 0; mutant < WIRE_MUTANTS_PER_REQUEST; mutant += 1) {
        const { bytes, step } = mutateWire(request.bytes, random);
        const error = await rawUnary(client, request.path, bytes, credentials);
        const code = error ? (status[error.code] ?? String(error.code)) : 'OK';
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (!error) continue;
        const problem = LEAKS.test(error.details ?? '')
          ? `the details give away internals: ${error.details}`
          : !REFUSALS.has(error.code)
            ? `${code}: ${error.details}`
            : error.details
              ? undefined
              : `${code} without details`;
        if (problem) failures.push(`${request.name} as ${request.path} #${mutant} [${step}]: ${problem}`);
      }
    }
    expect(failures).toEqual([]);
    expect(codes.get('OK')).toBeGreaterThan(0);
    expect(codes.get('INVALID_ARGUMENT')).toBeGreaterThan(0);
  }, 120_000);
});
