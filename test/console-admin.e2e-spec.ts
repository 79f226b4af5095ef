import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import request from 'supertest';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import { serviceReadiness } from '../src/app.factory';
import { JobQueue } from '../src/async/job-queue';
import { AppConfig } from '../src/config';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

interface TurnView {
  id: string;
  requestId: string;
  platform: string;
  intent: string;
  callerId: string;
  outcome: string;
  durationMs: number;
}

/** Reads a Server-Sent Events stream until `until` says it has seen enough; resolves with the events. */
function readEvents(
  url: string,
  until: (events: { event: string; id?: string; data: string }[]) => boolean,
  lastEventId?: string,
): { done: Promise<{ event: string; id?: string; data: string }[]>; opened: Promise<void> } {
  const events: { event: string; id?: string; data: string }[] = [];
  let opened!: () => void;
  const openedPromise = new Promise<void>((resolve) => (opened = resolve));
  const done = new Promise<typeof events>((resolve, reject) => {
    const headers = { Accept: 'text/event-stream', ...(lastEventId && { 'Last-Event-ID': lastEventId }) };
    const req = httpRequest(url, { headers }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
      opened();
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
          );
          events.push({ event: fields.event ?? 'message', id: fields.id, data: fields.data ?? '' });
        }
        if (until(events)) {
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('error', (error) => (until(events) ? resolve(events) : reject(error)));
    req.end();
  });
  return { done, opened: openedPromise };
}

describe('operator console: the admin listener (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let admin: AdminListener;
  let adminUrl: string;

  beforeAll(async () => {
    // Loopback is a trusted proxy here, as the ingress in front of the admin port is in a cluster.
    t = await startTestApp({ env: { TURN_LOG_FLUSH_MS: '100', ADMIN_PORT: '0', TRUSTED_PROXIES: '127.0.0.1/32' } });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    adminUrl = `http://127.0.0.1:${admin.port}`;
  });
  afterAll(async () => {
    await admin?.close();
    await t?.close();
  });

  const balance = (user = '12345') =>
    request(t.baseUrl)
      .post('/v1/webhooks/dialogflow-es')
      .set(LOCAL_DEV_AUTH)
      .send(esRequest('GetAccountBalance', { user_id: user, account_type: 'checking' }))
      .expect(200);

  it('serves the local operator on loopback in development, with a CSRF token, behind a strict CSP', async () => {
    const response = await request(adminUrl).get('/api/session').expect(200);
    expect(response.body).toMatchObject({ subject: 'local-operator', roles: ['operator'], via: 'local' });
    expect(response.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('refuses a loopback request under another host name (DNS rebinding) with a JSON 401', async () => {
    const response = await request(adminUrl).get('/api/session').set('Host', 'attacker.example').expect(401);
    expect(response.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
    // The console's own sign-in, not the webhooks' bearer tokens (which it does not take).
    expect(response.headers['www-authenticate']).toBe('Cookie realm="operator-console", form-action="/login"');
  });

  it('keeps the admin API off the webhook port and the webhooks off the admin port', async () => {
    await request(t.baseUrl).get('/api/turns').expect(404);
    await request(adminUrl).post('/v1/webhooks/dialogflow-es').set(LOCAL_DEV_AUTH).send({}).expect(404);
  });

  it('lists recent turns newest first, filtered, with a cursor for the next page', async () => {
    for (let i = 0; i < 3; i++) await balance();
    await request(t.baseUrl)
      .post('/v1/webhooks/generic')
      .set(LOCAL_DEV_AUTH)
      .send({ requestId: 'console-list-1', sessionId: 's', intent: 'NoSuchIntent' })
      .expect(200);
    await eventually(async () => {
      const all = (await request(adminUrl).get('/api/turns').expect(200)).body as { turns: TurnView[] };
      expect(all.turns.length).toBeGreaterThanOrEqual(4);
      expect(all.turns[0].requestId).toBe('console-list-1');
    });
    const balances = (await request(adminUrl).get('/api/turns?intent=GetAccountBalance&limit=2').expect(200)).body as {
      turns: TurnView[];
      next: string;
    };
    expect(balances.turns).toHaveLength(2);
    expect(
      balances.turns.every((turn) => turn.intent === 'GetAccountBalance' && turn.platform === 'dialogflow-es'),
    ).toBe(true);
    expect(balances.next).toBe(balances.turns[1].id);
    const page2 = (
      await request(adminUrl).get(`/api/turns?intent=GetAccountBalance&limit=2&before=${balances.next}`).expect(200)
    ).body as { turns: TurnView[] };
    expect(BigInt(page2.turns[0].id)).toBeLessThan(BigInt(balances.next));
    const fallbacks = (await request(adminUrl).get('/api/turns?outcome=fallback&platform=generic').expect(200))
      .body as { turns: TurnView[] };
    expect(fallbacks.turns.map((turn) => turn.requestId)).toContain('console-list-1');
  });

  it('refuses a bad or unknown filter with a JSON 400 that names it', async () => {
    const tooMany = await request(adminUrl).get('/api/turns?limit=100000').expect(400);
    expect(tooMany.body.error).toBe('VALIDATION_FAILED');
    expect(tooMany.body.details).toEqual([expect.objectContaining({ field: 'limit' })]);
    const unknown = await request(adminUrl).get('/api/turns?sort=asc').expect(400);
    expect(unknown.body.details).toEqual([expect.objectContaining({ field: 'sort' })]);
    await request(adminUrl).get('/api/turns?platform=teams').expect(400);
    await request(adminUrl).get('/api/turns?before=1;DROP TABLE turn_log').expect(400);
    // An ordinal date: read by new Date as 1 October (the day of the year as a month).
    const ordinal = await request(adminUrl).get('/api/turns?from=2026-010').expect(400);
    expect(ordinal.body.details).toEqual([
      expect.objectContaining({ field: 'from', problem: expect.stringContaining('ordinal date') }),
    ]);
  });

  it('tails new turns live over Server-Sent Events, only those that pass its filters', async () => {
    const stream = readEvents(`${adminUrl}/api/turns/stream?platform=generic`, (events) =>
      events.some((event) => event.event === 'turn' && event.data.includes('console-live-2')),
    );
    await stream.opened;
    for (const requestId of ['console-live-1', 'console-live-2']) {
      await request(t.baseUrl)
        .post('/v1/webhooks/generic')
        .set(LOCAL_DEV_AUTH)
        .send({ requestId, sessionId: 's', intent: 'NoSuchIntent' })
        .expect(200);
      if (requestId === 'console-live-1') await balance();
    }
    const turns = (await stream.done)
      .filter((event) => event.event === 'turn')
      .map((event) => ({ eventId: event.id, ...(JSON.parse(event.data) as TurnView) }));
    expect(turns.map((turn) => turn.requestId)).toEqual(['console-live-1', 'console-live-2']);
    // Each event's id is its turn's, for Last-Event-ID.
    expect(turns.every((turn) => turn.platform === 'generic' && turn.eventId === turn.id)).toBe(true);
  });

  const latestTurn = async () =>
    ((await request(adminUrl).get('/api/turns?limit=1').expect(200)).body as { turns: TurnView[] }).turns[0];
  const turnsOf = (events: { event: string; data: string }[]) =>
    events.filter((event) => event.event === 'turn').map((event) => (JSON.parse(event.data) as TurnView).requestId);

  it('resumes a tail from Last-Event-ID with the turns it missed that pass its filters, oldest first', async () => {
    const lastSeen = (await latestTurn()).id;
    const generic = (requestId: string) =>
      request(t.baseUrl)
        .post('/v1/webhooks/generic')
        .set(LOCAL_DEV_AUTH)
        .send({ requestId, sessionId: 's', intent: 'NoSuchIntent' })
        .expect(200);
    await generic('console-missed-1');
    await balance();
    await generic('console-missed-2');
    await eventually(async () => expect((await latestTurn()).requestId).toBe('console-missed-2'));
    const events = await readEvents(
      `${adminUrl}/api/turns/stream?platform=generic`,
      (seen) => turnsOf(seen).includes('console-missed-2'),
      lastSeen,
    ).done;
    expect(turnsOf(events)).toEqual(['console-missed-1', 'console-missed-2']);
    expect(events.some((event) => event.event === 'gap')).toBe(false);
  });

  it('says when a resuming tail missed more turns than it sends again (a gap event), then sends the newest of them', async () => {
    const lastSeen = (await latestTurn()).id;
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO turn_log (at, request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
       SELECT now(), 'console-gap-' || n, 'generic', 'NoSuchIntent', 'local-dev', 'ok', 1, 5000
         FROM generate_series(1, 501) AS n ORDER BY n`,
    );
    const events = await readEvents(
      `${adminUrl}/api/turns/stream?platform=generic`,
      (seen) => turnsOf(seen).includes('console-gap-501'),
      lastSeen,
    ).done;
    expect(events.filter((event) => event.event !== 'ping')[0].event).toBe('gap');
    const resent = turnsOf(events);
    expect(resent).toHaveLength(500);
    expect([resent[0], resent[499]]).toEqual(['console-gap-2', 'console-gap-501']);
  });

  it('searches the audit trail by event and source, and exports it as CSV (an audited action)', async () => {
    for (let i = 0; i < 3; i++) {
      await request(t.baseUrl)
        .post('/v1/webhooks/dialogflow-es')
        .set('Authorization', 'Bearer not-a-token')
        .send(esRequest('GetAccountBalance'))
        .expect(401);
    }
    const failures = await eventually(async () => {
      const body = (await request(adminUrl).get('/api/audit?event=authn_login_fail&source=127.0.0.1').expect(200))
        .body as { events: { id: string; event: string; remoteAddress: string; route: string }[] };
      expect(body.events.length).toBeGreaterThanOrEqual(3);
      return body.events;
    });
    expect(failures.every((row) => row.event === 'authn_login_fail' && row.remoteAddress === '127.0.0.1')).toBe(true);
    expect(failures[0].route).toBe('POST /v1/webhooks/dialogflow-es');
    expect((await request(adminUrl).get('/api/audit?event=authn_login_fail&source=10.9.9.9').expect(200)).body).toEqual(
      { events: [] },
    );

    const csv = await request(adminUrl).get('/api/audit/export?event=authn_login_fail').expect(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="audit.csv"');
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      '"id","occurredAt","event","outcome","callerId","method","reason","remoteAddress","route","requestId","traceId","detail","dropped"',
    );
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(failures.map((row) => `"${row.id}"`));
    await eventually(async () => {
      const exports = (await request(adminUrl).get('/api/audit?event=authz_admin').expect(200)).body as {
        events: { reason: string; detail: string; callerId: string }[];
      };
      expect(exports.events).toEqual([
        expect.objectContaining({
          reason: 'audit_export',
          detail: 'event=authn_login_fail',
          callerId: 'console:local-operator',
        }),
      ]);
    });
    await request(adminUrl).get('/api/audit?event=DROP%20TABLE').expect(400);
  });

  it("shows per-intent latency against the budget, and an intent's series for the charts", async () => {
    await balance();
    type Summary = { intent: string; platform: string; turns: number; p99Ms: number; budgetMs: number };
    const summaryRow = async () => {
      const body = (await request(adminUrl).get('/api/intents?window=1h').expect(200)).body as { intents: Summary[] };
      return body.intents.find((entry) => entry.intent === 'GetAccountBalance');
    };
    // Earlier tests' turns may still be on their way from the writer's buffer: read both views until they agree
    // on the same rows (the figure read before and after the series is unchanged).
    const { summary, seriesTurns } = await eventually(async () => {
      const before = await summaryRow();
      expect(before).toBeDefined();
      const series = (
        await request(adminUrl).get('/api/intents/series?intent=GetAccountBalance&window=24h').expect(200)
      ).body as { buckets: { turns: number }[] };
      const after = await summaryRow();
      expect(after?.turns).toBe(before!.turns);
      return { summary: before!, seriesTurns: series.buckets.reduce((sum, bucket) => sum + bucket.turns, 0) };
    });
    expect(summary).toMatchObject({ platform: 'dialogflow-es', budgetMs: 4500 });
    expect(summary.turns).toBeGreaterThan(0);
    expect(summary.p99Ms).toBeGreaterThan(0);
    expect(seriesTurns).toBe(summary.turns);
    await request(adminUrl).get('/api/intents?window=7d').expect(400);
    await request(adminUrl).get('/api/intents/series').expect(400);
  });

  it("shows this replica's health: readiness checks, pool, job queues, replicas", async () => {
    const health = (await request(adminUrl).get('/api/health').expect(200)).body as {
      readiness: { status: string; details: Record<string, { status: string }> };
      pool: { inUse: number; idle: number; waiting: number };
      queues: { queue: string; size: number }[];
      replicas: unknown[];
    };
    expect(health.readiness.status).toBe('ok');
    expect(Object.keys(health.readiness.details)).toEqual(
      expect.arrayContaining(['shutdown', 'database', 'jobQueue', 'memory', 'certificate']),
    );
    expect(health.pool.idle + health.pool.inUse).toBeGreaterThan(0);
    expect(health.queues.map((entry) => entry.queue)).toEqual(expect.arrayContaining(['callback-delivery']));
    expect(health.replicas).toEqual([]);
  });

  it("neither starts nor stops the service's own parts: a second console opened and closed leaves the job queue running", async () => {
    const queue = t.app.get(JobQueue);
    const second = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    await second.close();
    expect(queue.isRunning).toBe(true);
    const health = (await request(adminUrl).get('/api/health').expect(200)).body as {
      readiness: { status: string; details: { jobQueue: { status: string } } };
    };
    expect(health.readiness).toMatchObject({ status: 'ok', details: { jobQueue: { status: 'up' } } });
  });

  it('finds an IPv6 source however it is typed, with the summary row of its /64 (rows dropped over the budget)', async () => {
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO audit_events (event, caller_id, outcome, reason, remote_address, detail, dropped) VALUES
         ('authn_login_fail', 'unknown', 'failure', 'bad-token', '2001:db8:0:1::5', NULL, NULL),
         ('authn_login_fail', 'unknown', 'failure', 'audit-suppressed', '2001:db8:0:1::/64', '900 more', 900),
         ('authn_login_fail', 'unknown', 'failure', 'bad-token', '2001:db8:0:2::5', NULL, NULL)`,
    );
    for (const typed of ['2001:db8:0:1::5', '2001:DB8:0:1:0:0:0:5', '[2001:db8:0:1::5]']) {
      const { events } = (
        await request(adminUrl)
          .get(`/api/audit?event=authn_login_fail&source=${encodeURIComponent(typed)}`)
          .expect(200)
      ).body as { events: { remoteAddress: string; reason: string }[] };
      expect(events.map((row) => [row.remoteAddress, row.reason])).toEqual([
        ['2001:db8:0:1::/64', 'audit-suppressed'],
        ['2001:db8:0:1::5', 'bad-token'],
      ]);
    }
  });

  it('refuses a read another site started (a link opening the audit export), audited, and serves the console and the address bar', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const refused = await request(adminUrl).get('/api/audit/export?limit=10').set('Sec-Fetch-Site', site).expect(403);
      expect(refused.body).toMatchObject({ error: 'FORBIDDEN' });
    }
    await request(adminUrl).get('/api/audit/export?limit=1').set('Sec-Fetch-Site', 'same-origin').expect(200);
    await request(adminUrl).get('/api/turns?limit=1').set('Sec-Fetch-Site', 'none').expect(200);
    await eventually(async () => {
      const { events } = (await request(adminUrl).get('/api/audit?event=authz_fail&source=127.0.0.1').expect(200))
        .body as { events: { reason: string; route: string }[] };
      const crossSite = events.filter((row) => row.reason === 'console_cross_site');
      expect(crossSite.map((row) => [row.reason, row.route])).toEqual([
        ['console_cross_site', 'GET /api/audit/export'],
        ['console_cross_site', 'GET /api/audit/export'],
      ]);
    });
  });

  it('documents every admin route in an OpenAPI 3.1 document: parameters from the validation, who may call, errors', async () => {
    const document = (await request(adminUrl).get('/api/openapi.json').set('Host', 'anyone.example').expect(200))
      .body as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            summary?: string;
            description?: string;
            security?: Record<string, string[]>[];
            parameters?: { name: string; in: string; required: boolean; schema: { enum?: string[] } }[];
            requestBody?: { content: Record<string, { schema: { $ref: string } }> };
            responses: Record<string, unknown>;
          }
        >
      >;
      components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
    };
    expect(document.openapi).toBe('3.1.0');
    // Valid against the official OpenAPI 3.1 schema, every $ref resolved (the validator is an ES module: a child).
    const validator = join(__dirname, '..', 'scripts', 'validate-openapi.mjs');
    const validated = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, [validator, '-'], (error, stdout) =>
        error && !stdout ? reject(new Error(error.message)) : resolve(stdout),
      );
      child.stdin!.end(JSON.stringify(document));
    });
    expect(JSON.parse(validated)).toEqual({ valid: true, version: '3.1', errors: [] });
    expect(JSON.stringify(document)).not.toContain('"nullable"');
    expect(Object.keys(document.paths).sort()).toEqual([
      '/api/audit',
      '/api/audit/export',
      '/api/captures',
      '/api/captures/{id}',
      '/api/deliveries',
      '/api/deliveries/disable-url',
      '/api/deliveries/replay',
      '/api/health',
      '/api/intents',
      '/api/intents/series',
      '/api/session',
      '/api/session/revocations',
      '/api/turns',
      '/api/turns/stream',
      '/api/turns/{id}',
      '/api/turns/{id}/send-again',
      '/callback',
      '/login',
      '/logout',
    ]);
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect({ path, method, summary: operation.summary }).toEqual({ path, method, summary: expect.any(String) });
      }
    }
    const turns = document.paths['/api/turns'].get;
    expect(turns.security).toEqual([{ session: [] }]);
    expect(turns.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'platform', in: 'query', required: false }),
        expect.objectContaining({ name: 'minMs', in: 'query' }),
        expect.objectContaining({ name: 'from', in: 'query' }),
      ]),
    );
    expect(turns.parameters!.find((parameter) => parameter.name === 'platform')!.schema.enum).toContain('lex-v2');
    expect(Object.keys(turns.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));

    const replay = document.paths['/api/deliveries/replay'].post;
    expect(replay.security).toEqual([{ session: [], csrf: [] }]);
    expect(replay.description).toContain('operator role');
    const bodyRef = replay.requestBody!.content['application/json'].schema.$ref;
    expect(document.components.schemas[bodyRef.split('/').pop()!].required).toContain('ids');
    expect(document.paths['/api/captures/{id}'].delete.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path', required: true }),
    ]);
    expect(document.paths['/login'].get.security).toEqual([]);
  });
});
