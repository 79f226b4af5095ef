import { loadSync } from '@grpc/proto-loader';
import request from 'supertest';
import { RATE_LIMITED_ROUTES } from '../src/auth/callers/caller';
import { FULFILLMENT_PROTO, PROTO_LOADER_OPTIONS } from '../src/grpc/grpc-proto';
import { startTestApp, TestApp } from './support/test-app';

/**
 * The callers file names routes for per-route budgets from a list kept in `auth` (which may not import the
 * platforms or gRPC): it must name exactly the routes that need a caller, over HTTP and gRPC, so that a new route
 * cannot quietly be left out of per-route budgets.
 */
describe('per-route rate-limit keys match the routes the service serves', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { RASA_OPEN_ENDPOINTS: 'false' } });
  });
  afterAll(() => t?.close());

  it('lists every guarded HTTP route and every gRPC FulfillmentService method, and nothing else', async () => {
    const document = (await request(t.baseUrl).get('/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const http = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => (operation.security ?? []).length > 0)
        .map(([method, _operation]) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const definition = loadSync(FULFILLMENT_PROTO, PROTO_LOADER_OPTIONS);
    const service = definition['fulfillment.v1.FulfillmentService'] as Record<string, unknown>;
    const grpc = Object.keys(service).map((method) => `fulfillment.v1.FulfillmentService/${method}`);
    expect([...http, ...grpc].sort()).toEqual([...RATE_LIMITED_ROUTES].sort());
  });
});
