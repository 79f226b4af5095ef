/**
 * The operator console's API against hostile input, operation by operation from its own OpenAPI document: every
 * query and path parameter given values of the wrong type, out of range, overlong or meant for SQL or a path, and
 * every request body replaced by bare values, wrong shapes, prototype keys and oversize text. Each answer is a 2xx
 * or a 4xx with the service's JSON error body: never a 5xx, never a stack trace.
 */
import { startAdminListener, type AdminListener } from '../src/console/admin/admin-app';
import { serviceReadiness } from '../src/app.factory';
import { AppConfig } from '../src/config';
import { isServiceErrorBody, LEAKS } from './support/answer-checks';
import { sendRaw, type RawResponse } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly { in: 'query' | 'path'; name: string }[];
  readonly hasBody: boolean;
}

const HOSTILE_VALUES = [
  '',
  ' ',
  '-1',
  '0',
  '1.5',
  '99999999999999999999999',
  '1e309',
  'NaN',
  'true',
  '2026-13-45',
  '2026-12-04T25:61:00Z',
  // ISO 8601 week dates: valid ISO, but no time at all to `new Date`.
  '2026-W49-5',
  '2026-W49-5T10:00:00Z',
  "1' OR '1'='1",
  "'; DROP TABLE turn_log;--",
  '%00',
  '\u0000',
  '../../etc/passwd',
  '[object Object]',
  '__proto__',
  'ñandú 🐍',
  'x'.repeat(5000),
];

const HOSTILE_BODIES = [
  'null',
  '"x"',
  '12',
  '[]',
  '{}',
  '[{}]',
  '{"ids":"x","url":1,"caller":[],"intent":{},"minutes":"soon"}',
  '{"ids":[1,null,{},"x"],"limit":-1}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '{"a":1,"a":2}',
  `{"note":"${'x'.repeat(70_000)}"}`,
  '{"unterminated":',
];

function problemOf(what: string, response: RawResponse): string | undefined {
  if (response.status >= 500) return `${what}: ${response.status} ${response.text.slice(0, 200)}`;
  if (LEAKS.test(response.text)) return `${what}: gives away internals: ${response.text.slice(0, 200)}`;
  if (response.status < 400) return undefined;
  let body: unknown;
  try {
    body = response.json();
  } catch {
    return `${what}: ${response.status} with a body that is not JSON: ${response.text.slice(0, 200)}`;
  }
  return isServiceErrorBody(response.status, body)
    ? undefined
    : `${what}: ${response.status} without the error body: ${response.text.slice(0, 200)}`;
}

describe('operator console API: hostile parameters and bodies (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let admin: AdminListener;
  let adminUrl: string;
  let csrf: string;
  let operations: Operation[];

  beforeAll(async () => {
    t = await startTestApp({ env: { ADMIN_PORT: '0' } });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    adminUrl = `http://127.0.0.1:${admin.port}`;
    csrf = (await sendRaw(adminUrl, '/api/session', { method: 'GET' })).json<{ csrfToken: string }>().csrfToken;
    const document = (await sendRaw(adminUrl, '/api/openapi.json', { method: 'GET' })).json<{
      paths: Record<string, Record<string, { parameters?: Operation['parameters']; requestBody?: unknown }>>;
    }>();
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        hasBody: operation.requestBody !== undefined,
      })),
    );
  });
  afterAll(async () => {
    await admin?.close();
    await t?.close();
  });

  /** An operation's URL with `value` for one parameter and a valid-looking id for the other path parameters. */
  const urlOf = (operation: Operation, name?: string, value?: string): string => {
    let url = operation.path.replace(/\{([^}]+)\}/g, (_all, param: string) =>
      encodeURIComponent(param === name ? (value as string) : '1'),
    );
    const query = operation.parameters.find((parameter) => parameter.in === 'query' && parameter.name === name);
    if (query && value !== undefined) url += `?${encodeURIComponent(query.name)}=${encodeURIComponent(value)}`;
    return url;
  };

  const send = (operation: Operation, url: string, body?: string) =>
    sendRaw(adminUrl, url, {
      method: operation.method,
      headers: { 'X-CSRF-Token': csrf, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
      body,
    });

  // A live tail never ends by itself; it has tests of its own (console-admin).
  const testable = (operation: Operation) => !operation.path.endsWith('/stream');

  it('reads its operations from the OpenAPI document', () => {
    expect(operations.filter((operation) => operation.parameters.length > 0).length).toBeGreaterThan(5);
    expect(operations.filter((operation) => operation.hasBody).length).toBeGreaterThanOrEqual(3);
  });

  it('answers hostile query and path parameters with a 2xx or a clear 4xx', async () => {
    const problems: string[] = [];
    for (const operation of operations.filter(testable)) {
      for (const parameter of operation.parameters) {
        for (const value of HOSTILE_VALUES) {
          const url = urlOf(operation, parameter.name, value);
          const what = `${operation.method} ${url.slice(0, 100)}`;
          // Node's errors come from another realm than jest's: no instanceof.
          const response = await send(operation, url).catch((error: Error) => `${what}: ${error.message}`);
          const problem = typeof response === 'string' ? response : problemOf(what, response);
          if (problem) problems.push(problem);
        }
      }
    }
    expect(problems).toEqual([]);
  }, 60_000);

  it('answers hostile bodies with a clear 4xx, saying what is wrong with the JSON itself', async () => {
    const problems: string[] = [];
    const answers = new Map<string, RawResponse>();
    for (const operation of operations.filter((candidate) => candidate.hasBody)) {
      for (const body of HOSTILE_BODIES) {
        const response = await send(operation, urlOf(operation), body);
        const problem = problemOf(`${operation.method} ${operation.path} ${body.slice(0, 60)}`, response);
        if (problem) problems.push(problem);
        else if (response.status < 400)
          problems.push(`${operation.method} ${operation.path} took ${body.slice(0, 60)}`);
        answers.set(`${operation.path} ${body}`, response);
      }
    }
    expect(problems).toEqual([]);
    const captures = (body: string) => answers.get(`/api/captures ${body}`)!;
    expect([captures('null').status, captures('null').json().message]).toEqual([
      400,
      'The request body must be a JSON object, not a bare JSON null.',
    ]);
    expect(captures('{"__proto__":{"admin":true}}').json()).toMatchObject({
      error: 'MALFORMED_JSON',
      details: [{ field: '__proto__', problem: 'is a key that is not allowed' }],
    });
    expect(captures('{"a":1,"a":2}').json()).toMatchObject({ error: 'MALFORMED_JSON' });
    expect(captures(HOSTILE_BODIES[11]).status).toBe(413);
  }, 60_000);

  it('still answers afterwards', async () => {
    expect((await sendRaw(adminUrl, '/api/captures', { method: 'GET' })).status).toBe(200);
  });
});
