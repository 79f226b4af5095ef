// Which intent got slow: p50/p95/p99 against the platform's budget, error and deadline-miss ratios, volume; one
// intent's latency and throughput over the window in charts (and the same numbers in a table).
import { useMemo } from 'preact/hooks';
import { api, query } from '../api';
import { type ChartSeries, Chart } from '../chart';
import { formatCount, formatMs, formatRatio } from '../format';
import { href, navigate } from '../router';
import type { IntentBucket, IntentSummary, StatsWindow } from '../types';
import { ErrorAlert, Loading, Notice, PageHeader, Time, useLoad, TableWrap } from '../ui';

const WINDOWS: readonly { value: StatsWindow; label: string; seconds: number; bucket: number; per: string }[] = [
  { value: '1h', label: 'Last hour', seconds: 3600, bucket: 60, per: 'minute' },
  { value: '24h', label: 'Last 24 hours', seconds: 86_400, bucket: 900, per: '15 minutes' },
];

/** Ratios above this read as a problem. */
const RATIO_WARNING = 0.01;

function Latency({ value, budget }: { value: number; budget: number }) {
  const over = budget > 0 && value > budget;
  return (
    <td class={`num${over ? ' over' : ''}`}>
      {formatMs(value)}
      {over && <span class="visually-hidden"> (over budget)</span>}
    </td>
  );
}

function Ratio({ value }: { value: number }) {
  return <td class={`num${value > RATIO_WARNING ? ' over' : ''}`}>{formatRatio(value)}</td>;
}

function WindowChoice({ window, intent, platform }: { window: StatsWindow; intent?: string; platform?: string }) {
  return (
    <fieldset class="segmented">
      <legend>Window</legend>
      {WINDOWS.map((choice) => (
        <label key={choice.value}>
          <input
            type="radio"
            name="window"
            value={choice.value}
            checked={window === choice.value}
            onChange={() => navigate(href('/intents', { window: choice.value, intent, platform }))}
          />
          <span>{choice.label}</span>
        </label>
      ))}
    </fieldset>
  );
}

function SummaryTable({
  intents,
  window,
  selected,
}: {
  intents: IntentSummary[];
  window: StatsWindow;
  selected?: { intent: string; platform: string };
}) {
  return (
    <TableWrap label="Intents by volume">
      <table>
        <caption>Intents by volume</caption>
        <thead>
          <tr>
            <th scope="col">Intent</th>
            <th scope="col">Platform</th>
            <th scope="col" class="num">
              Turns
            </th>
            <th scope="col" class="num">
              Turns/min
            </th>
            <th scope="col" class="num">
              p50
            </th>
            <th scope="col" class="num">
              p95
            </th>
            <th scope="col" class="num">
              p99
            </th>
            <th scope="col" class="num">
              Budget
            </th>
            <th scope="col" class="num">
              Errors
            </th>
            <th scope="col" class="num">
              Deadline misses
            </th>
          </tr>
        </thead>
        <tbody>
          {intents.map((row) => {
            const isSelected = row.intent === selected?.intent && row.platform === selected.platform;
            return (
              <tr key={`${row.platform} ${row.intent}`} class={isSelected ? 'selected' : undefined}>
                <th scope="row">
                  <a
                    href={href('/intents', { window, intent: row.intent, platform: row.platform })}
                    aria-current={isSelected ? 'true' : undefined}
                  >
                    {row.intent}
                  </a>
                </th>
                <td>{row.platform}</td>
                <td class="num">{formatCount(row.turns)}</td>
                <td class="num">{formatCount(row.turnsPerMinute)}</td>
                <Latency value={row.p50Ms} budget={row.budgetMs} />
                <Latency value={row.p95Ms} budget={row.budgetMs} />
                <Latency value={row.p99Ms} budget={row.budgetMs} />
                <td class="num muted">{formatMs(row.budgetMs)}</td>
                <Ratio value={row.errorRatio} />
                <Ratio value={row.deadlineMissRatio} />
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** Every bucket of the window, the empty ones too (no turns: zero volume, no latency). */
function timeline(buckets: readonly IntentBucket[], seconds: number, bucket: number) {
  const byTime = new Map(buckets.map((entry) => [Math.floor(Date.parse(entry.at) / 1000), entry]));
  const last = Math.floor(Date.now() / 1000 / bucket) * bucket;
  const first = Math.min(last - seconds + bucket, ...byTime.keys());
  const times: number[] = [];
  const rows: (IntentBucket | undefined)[] = [];
  for (let at = first; at <= last; at += bucket) {
    times.push(at);
    rows.push(byTime.get(at));
  }
  return { times, rows };
}

/** A latency the logarithmic axis can draw (above zero), or a gap. */
function positive(ms: number | undefined): number | null {
  return ms !== undefined && ms > 0 ? ms : null;
}

function IntentCharts({
  intent,
  platform,
  window,
  budget,
}: {
  intent: string;
  platform: string;
  window: StatsWindow;
  budget?: number;
}) {
  const choice = WINDOWS.find((entry) => entry.value === window) ?? WINDOWS[0];
  const key = query({ intent, platform, window });
  const series = useLoad(key, () => api.get<{ buckets: IntentBucket[] }>(`/api/intents/series${key}`));
  const charts = useMemo(() => {
    if (!series.data) return undefined;
    const { times, rows } = timeline(series.data.buckets, choice.seconds, choice.bucket);
    const latency: ChartSeries[] = [
      { label: 'p50', points: true, color: '#60a5fa', values: rows.map((row) => positive(row?.p50Ms)) },
      { label: 'p95', points: true, color: '#1d4ed8', values: rows.map((row) => positive(row?.p95Ms)) },
      { label: 'p99', points: true, color: '#7c3aed', values: rows.map((row) => positive(row?.p99Ms)) },
    ];
    if (budget)
      latency.push({ label: 'budget', color: '#b91c1c', dash: [6, 4], width: 1.5, values: times.map(() => budget) });
    const volume: ChartSeries[] = [
      { label: 'turns', color: '#2563eb', bars: true, width: 1, values: rows.map((row) => row?.turns ?? 0) },
      { label: 'errors', color: '#b45309', values: rows.map((row) => row?.errors ?? 0) },
      { label: 'deadline misses', color: '#b91c1c', values: rows.map((row) => row?.deadlineMisses ?? 0) },
    ];
    const worst = Math.max(0, ...rows.map((row) => row?.p95Ms ?? 0));
    const total = rows.reduce((sum, row) => sum + (row?.turns ?? 0), 0);
    return { times, latency, volume, worst, total };
  }, [series.data, choice, budget]);

  return (
    <section aria-labelledby="charts-heading" class="charts">
      <h2 id="charts-heading">
        {intent}{' '}
        <span class="muted">
          · {platform} · {choice.label.toLowerCase()}
        </span>
      </h2>
      {series.error !== undefined && (
        <ErrorAlert error={series.error} title={`Could not load the series of ${intent}.`} />
      )}
      {series.loading && !series.data && <Loading what="Loading the charts" />}
      {series.data && series.data.buckets.length === 0 && <Notice>No turns of {intent} in this window.</Notice>}
      {charts && series.data && series.data.buckets.length > 0 && (
        <>
          <div class="chart-grid">
            <figure>
              <figcaption>Latency (ms)</figcaption>
              <Chart
                times={charts.times}
                series={charts.latency}
                yLabel="ms (log scale)"
                format={formatMs}
                step={choice.bucket}
                log
                label={`Latency of ${intent}, ${choice.label.toLowerCase()}: p95 at most ${formatMs(charts.worst)}${
                  budget ? ` against a budget of ${formatMs(budget)}` : ''
                }. The numbers are in the table below.`}
              />
            </figure>
            <figure>
              <figcaption>Throughput (turns per {choice.per})</figcaption>
              <Chart
                times={charts.times}
                series={charts.volume}
                yLabel="turns"
                format={formatCount}
                step={choice.bucket}
                label={`Throughput of ${intent}, ${choice.label.toLowerCase()}: ${formatCount(charts.total)} turns. The numbers are in the table below.`}
              />
            </figure>
          </div>
          <details class="data-table">
            <summary>The charts' numbers</summary>
            <TableWrap label={`${intent} per ${choice.per}`}>
              <table>
                <caption>
                  {intent} per {choice.per}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">From</th>
                    <th scope="col" class="num">
                      Turns
                    </th>
                    <th scope="col" class="num">
                      p50
                    </th>
                    <th scope="col" class="num">
                      p95
                    </th>
                    <th scope="col" class="num">
                      p99
                    </th>
                    <th scope="col" class="num">
                      Errors
                    </th>
                    <th scope="col" class="num">
                      Deadline misses
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {series.data.buckets.map((bucket) => (
                    <tr key={bucket.at}>
                      <th scope="row" class="nowrap">
                        <Time iso={bucket.at} />
                      </th>
                      <td class="num">{bucket.turns}</td>
                      <td class="num">{formatMs(bucket.p50Ms)}</td>
                      <td class="num">{formatMs(bucket.p95Ms)}</td>
                      <td class="num">{formatMs(bucket.p99Ms)}</td>
                      <td class="num">{bucket.errors}</td>
                      <td class="num">{bucket.deadlineMisses}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          </details>
        </>
      )}
    </section>
  );
}

export function IntentsPage({ params }: { params: URLSearchParams }) {
  const window: StatsWindow = params.get('window') === '24h' ? '24h' : '1h';
  const intent = params.get('intent') ?? undefined;
  const platform = params.get('platform') ?? undefined;
  const summary = useLoad(window, () => api.get<{ intents: IntentSummary[] }>(`/api/intents${query({ window })}`));
  const intents = summary.data?.intents ?? [];
  // The intent on the platform the address names, else its busiest platform, else the busiest row.
  const shownRow =
    intents.find((row) => row.intent === intent && row.platform === platform) ??
    intents.find((row) => row.intent === intent) ??
    (intent === undefined ? intents[0] : undefined);
  const shown = shownRow ? { intent: shownRow.intent, platform: shownRow.platform } : undefined;
  return (
    <>
      <PageHeader title="Intents">
        <WindowChoice window={window} intent={intent} platform={platform} />
      </PageHeader>
      <p class="lead">Latency percentiles against each platform's budget, error and deadline-miss ratios, volume.</p>
      {summary.error !== undefined && <ErrorAlert error={summary.error} title="Could not load the intents." />}
      {summary.loading && !summary.data && <Loading what="Loading the intents" />}
      {summary.data && intents.length === 0 && <Notice>No turns in this window.</Notice>}
      {intents.length > 0 && <SummaryTable intents={intents} window={window} selected={shown} />}
      {shownRow && (
        <IntentCharts
          key={`${shownRow.intent} ${shownRow.platform} ${window}`}
          intent={shownRow.intent}
          platform={shownRow.platform}
          window={window}
          budget={shownRow.budgetMs || undefined}
        />
      )}
    </>
  );
}
