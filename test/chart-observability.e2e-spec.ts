/**
 * The Helm chart's Grafana dashboard and PrometheusRule read only metrics the service really exports. Boots the
 * real application (with TLS, so the certificate metric exists), causes the events behind each counter that only
 * appears once it moves (a turn, a fallback, a failure, a replay, an auth failure, a 429, an overload refusal, a
 * callback, a lost database connection), scrapes /metrics, and checks every metric name in every dashboard query
 * and every alert expression against the scrape (histograms by their _bucket/_sum/_count series). Names from
 * outside the service are an explicit list. Label names in the selectors must be labels of their metric.
 *
 * The rules are read from templates/prometheusrule.yaml as text (no helm here): template actions are blanked out
 * before the PromQL is tokenised. Rendering, `promtool check rules` and `promtool test rules` are
 * scripts/check-chart.mjs's part.
 */
import { dump as toYaml } from 'js-yaml';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CallbackReceiver, eventually, startCallbackReceiver } from './support/callback-receiver';
import { declinedTransfer, esRequest, README_REQUEST } from './support/dialogflow-es.fixtures';
import { freePort } from './support/service-process';
import { startTestApp, type TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { TestHandlersModule } from './support/test-handlers';
import { generateCertificates, httpsPost, pem } from './support/tls-fixtures';

const CHART = join(__dirname, '..', 'helm', 'webhook-fulfillment');
const DASHBOARD = join(CHART, 'dashboards', 'webhook-fulfillment.json');
const RULES_TEMPLATE = join(CHART, 'templates', 'prometheusrule.yaml');

/** Series the dashboard and rules read that other exporters provide: Prometheus itself and kube-state-metrics. */
const EXTERNAL = new Set([
  'up',
  'kube_pod_container_status_ready',
  'kube_pod_status_phase',
  'kube_deployment_status_replicas_available',
]);
/** Labels the scrape adds (Prometheus Operator's ServiceMonitor, the rules' selectors) to every series. */
const TARGET_LABELS = new Set(['namespace', 'job', 'pod', 'instance', 'service', 'container', 'endpoint']);

const ES = '/v1/webhooks/dialogflow-es';
const GENERIC = '/v1/webhooks/generic';

// ---- PromQL, taken apart just enough ----

/** Words of PromQL that are not metric names: aggregations, set and vector-matching keywords, @ modifiers. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'atan2',
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
  'inf',
  'nan',
  'start',
  'end',
]);

/** Grafana variables ($x, ${x}, ${x:regex}) and Helm template actions ({{ … }}) blanked out. */
function withoutPlaceholders(expr: string): string {
  return expr
    .replace(/\{\{.*?\}\}/gs, ' 0 ')
    .replace(/\$\{[^}]*\}/g, 'x')
    .replace(/\$\w+/g, 'x');
}

/** The metric names an expression reads: identifiers that are not keywords, functions, labels or literals. */
function metricNames(expr: string): string[] {
  const text = withoutPlaceholders(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' $1 ')
    .replace(/(?<![\w:])\d+(\.\d+)?(e[+-]?\d+)?[smhdwy]?(?![\w:])/gi, ' ');
  const names: string[] = [];
  for (const match of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = text.slice((match.index ?? 0) + match[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

/** Each `name{matchers}` of an expression, with the label names its matchers use. */
function selectors(expr: string): { name: string; labels: string[] }[] {
  const text = withoutPlaceholders(expr).replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)].map(([, name, body]) => ({
    name,
    labels: [...body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]),
  }));
}

describe('metric names and labels in the tokeniser', () => {
  it('finds the metrics of a rule and nothing else', () => {
    const expr =
      'histogram_quantile(0.99, sum by (platform, le) (rate(fulfillment_request_duration_seconds_bucket{job=~"$job"}' +
      '[$__rate_interval]))) > on (platform) group_left 0.8 * max by (platform) (fulfillment_deadline_seconds) ' +
      'and up{ {{- $sel -}} } == 1 unless x offset 1h or vector(1e3) - time()';
    expect(metricNames(expr)).toEqual([
      'fulfillment_request_duration_seconds_bucket',
      'fulfillment_deadline_seconds',
      'up',
      'x',
    ]);
    expect(selectors('a{ {{- $sel -}} , outcome="timed-out", le=~"a}b"} / b{state!="idle"}')).toEqual([
      { name: 'a', labels: ['outcome', 'le'] },
      { name: 'b', labels: ['state'] },
    ]);
  });
});

// ---- what the chart queries ----

interface Query {
  where: string;
  expr: string;
}

interface Panel {
  id: number;
  title: string;
  panels?: Panel[];
  targets?: { refId: string; expr: string }[];
}

function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
  };
  const all = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...all(p.panels ?? [])]);
  const queries = all(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).map((t) => ({ where: `dashboard panel "${panel.title}" ${t.refId}`, expr: t.expr })),
  );
  for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
    const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    const labelValues = /^label_values\((.*),\s*\w+\)$/s.exec(query);
    queries.push({ where: `dashboard variable ${variable.name}`, expr: labelValues ? labelValues[1] : query });
  }
  return queries;
}

/** The `expr: |-` blocks of the rule template, with their alert names. */
function ruleQueries(): Query[] {
  const lines = readFileSync(RULES_TEMPLATE, 'utf8').split('\n');
  const queries: Query[] = [];
  let alert = '?';
  lines.forEach((line, index) => {
    const named = /^\s*- alert:\s*(\S+)/.exec(line);
    if (named) alert = named[1];
    const start = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!start) return;
    const indent = start[1].length;
    const body: string[] = /^[|>]/.test(start[2]) ? [] : [start[2]];
    for (let next = index + 1; next < lines.length; next += 1) {
      const text = lines[next];
      if (text.trim() !== '' && text.search(/\S/) <= indent) break;
      body.push(text);
    }
    queries.push({ where: `alert ${alert} (line ${index + 1})`, expr: body.join('\n') });
  });
  return queries;
}

// ---- the scrape ----

/** Series names in the scrape, and the label names each carries. */
function parseScrape(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s/.exec(line);
    if (!match) continue;
    const labels = series.get(match[1]) ?? new Set<string>();
    for (const [, label] of (match[3] ?? '').matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(label);
    series.set(match[1], labels);
  }
  return series;
}

/**
 * Blocks the event loop in 250 ms slices, so its delay stays above OVERLOAD_DELAY_MS (200) window after window. Each
 * pause outlasts the delay monitor's 10 ms resolution, or the monitor records nothing after the first slice.
 */
async function holdUpEventLoop(slices: number): Promise<void> {
  for (let slice = 0; slice < slices; slice += 1) {
    const until = Date.now() + 250;
    while (Date.now() < until) {
      // busy: the service shares this process's event loop
    }
    await sleep(15);
  }
}

describe('the chart’s dashboard and alert rules against the metrics the service exports', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'wf-chart-observability-'));
  const token = `chart-obs-${randomBytes(16).toString('hex')}`;
  const throttledToken = `chart-throttled-${randomBytes(16).toString('hex')}`;
  let t: TestApp;
  let port: number;
  let metricsUrl: string;
  let receiver: CallbackReceiver;
  let ca: Buffer;

  const post = (path: string, body: unknown, bearer = token) =>
    httpsPost({
      port,
      path,
      ca,
      body: JSON.stringify(body),
      headers: { Authorization: `Bearer ${bearer}` },
    });

  /**
   * Posts a turn that must be answered with `status`. A refusal for overload is retried, as its Retry-After asks:
   * the service shares this process's event loop with jest, whose pauses (garbage collection, a busy machine) can
   * run past OVERLOAD_DELAY_MS before the test holds the loop up on purpose. Any other answer fails with its body.
   */
  const expectAnswer = async (status: number, path: string, body: unknown, bearer = token): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      const response = await post(path, body, bearer);
      if (response.status === 503 && response.json.error === 'OVERLOADED' && attempt < 5) {
        await sleep(Number(response.headers['retry-after']) * 1000);
        continue;
      }
      expect({ status: response.status, body: response.text }).toEqual({ status, body: expect.any(String) });
      return;
    }
  };

  const scrape = async (): Promise<Map<string, Set<string>>> => {
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    return parseScrape(await response.text());
  };

  beforeAll(async () => {
    generateCertificates(workDir);
    ca = pem(workDir, 'ca.crt');
    receiver = await startCallbackReceiver();
    const callersFile = join(workDir, 'callers.yaml');
    writeFileSync(
      callersFile,
      toYaml({
        callers: [
          {
            id: 'chart-obs',
            platforms: ['dialogflow-es', 'generic'],
            auth: { bearer: { tokens: [token] } },
            callback: {
              url: receiver.url,
              secrets: [`whsec_${randomBytes(32).toString('base64')}`],
              allowPrivateNetwork: true,
            },
          },
          {
            id: 'chart-throttled',
            platforms: ['dialogflow-es'],
            auth: { bearer: { tokens: [throttledToken] } },
            rateLimit: { requests: 1, perSeconds: 600 },
          },
        ],
      }),
    );
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    t = await startTestApp({
      imports: [TestHandlersModule],
      env: {
        METRICS_ENABLED: 'true',
        METRICS_PORT: String(metricsPort),
        TLS_CERT_FILE: join(workDir, 'server.crt'),
        TLS_KEY_FILE: join(workDir, 'server.key'),
        // Client certificates checked against a CRL: tls_crl_next_update_timestamp_seconds is exported.
        TLS_CA_FILE: join(workDir, 'ca.crt'),
        TLS_CLIENT_AUTH: 'optional',
        TLS_CRL_FILE: join(workDir, 'ca.crl.pem'),
        CALLERS_FILE: callersFile,
        ASYNC_POLL_INTERVAL_MS: '500',
        SHUTDOWN_GRACE_MS: '2000',
        // The service's default (test apps turn it off): overload_refusals_total is provoked below.
        OVERLOAD_DELAY_MS: '200',
      },
    });
    port = Number(new URL(t.baseUrl).port);

    // A turn, a fallback, a failure (an error outcome), a replay (the same turn twice).
    await expectAnswer(200, ES, README_REQUEST);
    await expectAnswer(200, ES, esRequest('NoSuchIntentHere'));
    await expectAnswer(200, ES, esRequest('TestExplode'));
    const declined = declinedTransfer();
    for (let delivery = 0; delivery < 2; delivery += 1) await expectAnswer(200, ES, declined);
    // An auth failure, and a caller over its rate limit.
    await expectAnswer(401, ES, README_REQUEST, `unknown-${randomBytes(16).toString('hex')}`);
    await expectAnswer(200, ES, README_REQUEST, throttledToken);
    await expectAnswer(429, ES, README_REQUEST, throttledToken);
    // An async turn whose result goes to the caller's callback URL.
    await expectAnswer(200, GENERIC, {
      requestId: `chart-${randomBytes(6).toString('hex')}`,
      sessionId: `session-${randomBytes(6).toString('hex')}`,
      intent: 'RequestStatement',
      parameters: { user_id: '12345', account_type: 'checking' },
    });
    await eventually(async () => expect((await scrape()).has('callback_deliveries_total')).toBe(true), 20_000, 250);
    // A turn refused while the event loop runs late.
    await eventually(
      async () => {
        await holdUpEventLoop(2);
        const refused = post(ES, README_REQUEST);
        await holdUpEventLoop(3);
        expect((await refused).status).toBe(503);
      },
      20_000,
      0,
    );
    // Database connections ended by the server (TypeORM reports it on the console: not this test's business).
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    await queryTestDatabase(
      t.database.url,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    await eventually(async () => expect((await scrape()).has('db_connection_errors_total')).toBe(true), 10_000, 100);
    warn.mockRestore();
  }, 90_000);

  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('reads the dashboard queries and the alert expressions of the chart', () => {
    expect(dashboardQueries().length).toBeGreaterThan(30);
    const alerts = ruleQueries();
    expect(alerts.length).toBeGreaterThanOrEqual(11);
    for (const { where, expr } of alerts)
      expect({ where, names: metricNames(expr).length > 0 }).toEqual({ where, names: true });
  });

  it('uses only metric names the service exports, or the few external ones listed', async () => {
    const exported = await scrape();
    const unknown: string[] = [];
    const used = new Set<string>();
    for (const { where, expr } of [...dashboardQueries(), ...ruleQueries()]) {
      for (const name of metricNames(expr)) {
        used.add(name);
        if (!exported.has(name) && !EXTERNAL.has(name)) unknown.push(`${where}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
    // The external list holds only what the chart uses.
    expect([...EXTERNAL].filter((name) => !used.has(name))).toEqual([]);
  });

  it('selects only labels those metrics carry (or the labels the scrape adds)', async () => {
    const exported = await scrape();
    const wrong: string[] = [];
    for (const { where, expr } of [...dashboardQueries(), ...ruleQueries()]) {
      for (const { name, labels } of selectors(expr)) {
        const known = exported.get(name);
        if (!known) continue; // external, or reported by the test above
        for (const label of labels) {
          if (!known.has(label) && !TARGET_LABELS.has(label)) wrong.push(`${where}: ${name}{${label}}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
