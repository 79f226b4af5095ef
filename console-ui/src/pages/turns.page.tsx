// Recent turns: searched by platform, intent, caller, outcome, duration and time; a live tail (Server-Sent
// Events) adds new ones as they finish; each row opens the turn's inspector.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api';
import { FilterForm, NumberField, SelectField, TextField, TimeField } from '../forms';
import { formatMs, formatTime } from '../format';
import { href, navigate } from '../router';
import { mergeTurns, rememberTurns } from '../turn-cache';
import { OUTCOMES, PLATFORMS, type TurnPage, type TurnRow } from '../types';
import { Badge, ErrorAlert, Loading, Notice, PageHeader, Time, TableWrap } from '../ui';
import { TraceId } from '../trace-id';

const FILTERS = ['platform', 'intent', 'caller', 'outcome', 'minMs', 'from', 'to'] as const;
/** What the live tail filters by (it has no time range). */
const LIVE_FILTERS = ['platform', 'intent', 'caller', 'outcome', 'minMs'] as const;
/** Rows kept while the live tail runs: the oldest fall off the end. */
const MAX_ROWS = 500;

type LiveState = 'off' | 'connecting' | 'open' | 'reconnecting' | 'closed';

function pick(params: URLSearchParams, names: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((name) => [name, params.get(name) ?? undefined]));
}

export function DurationCell({ turn }: { turn: TurnRow }) {
  const over = turn.budgetMs > 0 && turn.durationMs > turn.budgetMs;
  const share = turn.budgetMs > 0 ? Math.min(100, (turn.durationMs / turn.budgetMs) * 100) : 0;
  return (
    <td class={`num duration${over ? ' over' : ''}`}>
      <span>{formatMs(turn.durationMs)}</span>
      {over && <span class="visually-hidden"> (over budget)</span>}
      {turn.budgetMs > 0 && (
        <span class="meter" aria-hidden="true">
          <span class="meter-fill" style={{ width: `${share}%` }} />
        </span>
      )}
    </td>
  );
}

function TurnsTable({ turns, fresh }: { turns: readonly TurnRow[]; fresh: ReadonlySet<string> }) {
  return (
    <TableWrap label="Recent turns">
      <table>
        <caption>Recent turns</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Intent</th>
            <th scope="col">Platform</th>
            <th scope="col">Caller</th>
            <th scope="col">Outcome</th>
            <th scope="col" class="num">
              Duration
            </th>
            <th scope="col" class="num">
              Budget
            </th>
            <th scope="col">Trace id</th>
          </tr>
        </thead>
        <tbody>
          {turns.map((turn) => (
            <tr key={turn.id} class={fresh.has(turn.id) ? 'fresh' : undefined}>
              <td class="nowrap">
                <a
                  href={`#/turns/${encodeURIComponent(turn.id)}`}
                  aria-label={`Inspect turn ${turn.id} at ${formatTime(turn.at)}`}
                >
                  <Time iso={turn.at} />
                </a>
              </td>
              <td>
                <span class="strong">{turn.intent}</span>
                {turn.captured && <span class="badge badge-info tag">captured</span>}
              </td>
              <td>{turn.platform}</td>
              <td>{turn.callerId}</td>
              <td>
                <Badge value={turn.outcome} />
              </td>
              <DurationCell turn={turn} />
              <td class="num muted">{formatMs(turn.budgetMs)}</td>
              <td>{turn.traceId ? <TraceId traceId={turn.traceId} /> : <span class="muted">–</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

const LIVE_TEXT: Readonly<Record<LiveState, string>> = {
  off: '',
  connecting: 'Connecting to the live tail…',
  open: 'New turns appear at the top as they finish.',
  reconnecting: 'Live tail interrupted; reconnecting…',
  closed: 'The live tail stopped.',
};

export function TurnsPage({ params }: { params: URLSearchParams }) {
  const filters = pick(params, FILTERS);
  const filterKey = query(filters);
  const liveKey = query(pick(params, LIVE_FILTERS));
  const [turns, setTurns] = useState<TurnRow[]>([]);
  const [next, setNext] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState(false);
  const [liveState, setLiveState] = useState<LiveState>('off');
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  // Bumped when the live tail missed more turns than it could send again: the list is read afresh.
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(undefined);
    setFresh(new Set());
    api.get<TurnPage>(`/api/turns${filterKey}`).then(
      (page) => {
        if (!current) return;
        rememberTurns(page.turns);
        setTurns(page.turns);
        setNext(page.next);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!current) return;
        setError(failure);
        setTurns([]);
        setNext(undefined);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [filterKey, reloads]);

  useEffect(() => {
    if (!live) {
      setLiveState('off');
      return;
    }
    setLiveState('connecting');
    const source = new EventSource(`/api/turns/stream${liveKey}`);
    source.onopen = () => setLiveState('open');
    source.onerror = () => setLiveState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    source.addEventListener('turn', (event: MessageEvent<string>) => {
      const turn = JSON.parse(event.data) as TurnRow;
      rememberTurns([turn]);
      setTurns((previous) => mergeTurns([turn], previous, MAX_ROWS));
      setFresh((previous) => new Set(previous).add(turn.id));
    });
    source.addEventListener('gap', () => setReloads((count) => count + 1));
    return () => source.close();
  }, [live, liveKey]);

  const older = async () => {
    if (!next) return;
    setLoading(true);
    try {
      const page = await api.get<TurnPage>(`/api/turns${query({ ...filters, before: next })}`);
      rememberTurns(page.turns);
      setTurns((previous) => mergeTurns(previous, page.turns, Number.MAX_SAFE_INTEGER));
      setNext(page.next);
    } catch (failure: unknown) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  };

  return (
    <>
      <PageHeader title="Turns">
        <div class="live-status" role="status">
          {liveState !== 'off' && <span class={`live-dot live-${liveState}`} aria-hidden="true" />}
          {LIVE_TEXT[liveState]}
        </div>
        <label class="switch">
          <input
            type="checkbox"
            role="switch"
            checked={live}
            onChange={(event) => setLive(event.currentTarget.checked)}
          />
          <span>Live</span>
        </label>
      </PageHeader>
      <p class="lead">Finished turns, newest first. Open one to inspect it.</p>
      <FilterForm
        key={filterKey}
        label="Filter turns"
        clearHref="#/turns"
        onSearch={(values) => navigate(href('/turns', values))}
      >
        <SelectField name="platform" label="Platform" value={filters.platform ?? null} options={PLATFORMS} any="Any" />
        <TextField name="intent" label="Intent" value={filters.intent ?? null} maxLength={200} />
        <TextField name="caller" label="Caller" value={filters.caller ?? null} maxLength={128} />
        <SelectField name="outcome" label="Outcome" value={filters.outcome ?? null} options={OUTCOMES} any="Any" />
        <NumberField name="minMs" label="At least (ms)" min={0} max={3_600_000} value={filters.minMs ?? null} />
        <TimeField name="from" label="From" value={filters.from ?? null} />
        <TimeField name="to" label="Until" value={filters.to ?? null} />
      </FilterForm>
      {error !== undefined && <ErrorAlert error={error} title="Could not load the turns." />}
      {loading && turns.length === 0 && <Loading what="Loading turns" />}
      {!loading && error === undefined && turns.length === 0 && (
        <Notice>No turns match{filterKey ? ' these filters' : ' yet'}.</Notice>
      )}
      {turns.length > 0 && <TurnsTable turns={turns} fresh={fresh} />}
      {turns.length > 0 && (
        <div class="table-footer">
          <span class="muted">
            {turns.length} {turns.length === 1 ? 'turn' : 'turns'}
          </span>
          {next && (
            <button type="button" class="button button-quiet" disabled={loading} onClick={() => void older()}>
              Older turns
            </button>
          )}
        </div>
      )}
    </>
  );
}
