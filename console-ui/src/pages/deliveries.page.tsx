// Callback deliveries (signed callbacks of async fulfilments): the failing and dead ones with their attempts and
// last error. Operators select rows to replay them, or to stop sending to their URLs.
import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { FilterForm, SelectField, TextField } from '../forms';
import { href, navigate } from '../router';
import { useIsOperator } from '../session';
import { DELIVERY_STATUSES, type Delivery } from '../types';
import { Badge, ErrorAlert, Loading, Notice, PageHeader, Time, useLoad, TableWrap } from '../ui';

/** What an action did, for the status line. */
interface Outcome {
  readonly text: string;
  readonly tone: 'info' | 'success';
}

interface ReplayResult {
  readonly replayed: Delivery[];
  readonly notReplayable: string[];
}

/** The distinct (caller, URL) pairs of some deliveries. */
function targetsOf(deliveries: readonly Delivery[]): { callerId: string; url: string }[] {
  const pairs = new Map<string, { callerId: string; url: string }>();
  for (const { callerId, url } of deliveries) pairs.set(`${callerId} ${url}`, { callerId, url });
  return [...pairs.values()];
}

function DisableConfirm({
  targets,
  onConfirm,
  onCancel,
  busy,
}: {
  targets: readonly { callerId: string; url: string }[];
  onConfirm: () => void;
  onCancel: () => void;
  busy: boolean;
}) {
  return (
    <div class="confirm" role="group" aria-labelledby="disable-heading">
      <h2 id="disable-heading">
        Stop sending to {targets.length === 1 ? 'this URL' : `these ${targets.length} URLs`}?
      </h2>
      <ul>
        {targets.map((target) => (
          <li key={`${target.callerId} ${target.url}`}>
            <code>{target.url}</code> <span class="muted">of {target.callerId}</span>
          </li>
        ))}
      </ul>
      <p class="hint">Its pending deliveries stop; replaying one of them enables the URL again.</p>
      <div class="button-row">
        <button type="button" class="button button-danger" disabled={busy} onClick={onConfirm}>
          Confirm disable
        </button>
        <button type="button" class="button button-quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

export function DeliveriesPage({ params }: { params: URLSearchParams }) {
  const operator = useIsOperator();
  const status = params.get('status') ?? undefined;
  const caller = params.get('caller') ?? undefined;
  const key = query({ status, caller });
  const list = useLoad(key, () => api.get<{ deliveries: Delivery[] }>(`/api/deliveries${key}`));
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Outcome>();
  const [error, setError] = useState<unknown>();
  const deliveries = list.data?.deliveries ?? [];
  const chosen = deliveries.filter((delivery) => selected.has(delivery.id));

  const toggle = (id: string, on: boolean) =>
    setSelected((previous) => {
      const next = new Set(previous);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allSelected = deliveries.length > 0 && chosen.length === deliveries.length;

  const act = async (action: () => Promise<Outcome>) => {
    setBusy(true);
    setError(undefined);
    setMessage(undefined);
    try {
      setMessage(await action());
      setSelected(new Set());
      setConfirming(false);
      list.reload();
    } catch (failure: unknown) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const replay = () =>
    act(async () => {
      const result = await api.post<ReplayResult>('/api/deliveries/replay', { ids: chosen.map((d) => d.id) });
      const parts = [`Replayed ${result.replayed.length} ${result.replayed.length === 1 ? 'delivery' : 'deliveries'}.`];
      if (result.notReplayable.length > 0) {
        parts.push(`Not replayable (not dead or disabled): ${result.notReplayable.join(', ')}.`);
      }
      return { text: parts.join(' '), tone: result.replayed.length > 0 ? 'success' : 'info' };
    });
  const disable = () =>
    act(async () => {
      const targets = targetsOf(chosen);
      let disabled = 0;
      for (const target of targets) {
        const result = await api.post<{ disabled: boolean }>('/api/deliveries/disable-url', target);
        if (result.disabled) disabled += 1;
      }
      const already = disabled < targets.length ? ' (the others were disabled already)' : '';
      return {
        text: `Disabled ${disabled} of ${targets.length} ${targets.length === 1 ? 'URL' : 'URLs'}${already}.`,
        tone: disabled > 0 ? 'success' : 'info',
      };
    });

  return (
    <>
      <PageHeader title="Deliveries" />
      <p class="lead">Signed callbacks to callers: their attempts and last errors.</p>
      <FilterForm
        key={key}
        label="Filter deliveries"
        clearHref="#/deliveries"
        onSearch={(values) => navigate(href('/deliveries', values))}
      >
        <SelectField name="status" label="Status" value={status ?? null} options={DELIVERY_STATUSES} any="Any" />
        <TextField name="caller" label="Caller" value={caller ?? null} maxLength={64} />
      </FilterForm>
      {operator && (
        <div class="toolbar" role="group" aria-label="Selected deliveries">
          <span class="muted">{chosen.length} selected</span>
          <button type="button" class="button" disabled={busy || chosen.length === 0} onClick={() => void replay()}>
            Replay
          </button>
          <button
            type="button"
            class="button button-danger-quiet"
            disabled={busy || chosen.length === 0}
            onClick={() => setConfirming(true)}
          >
            Disable URL
          </button>
        </div>
      )}
      {confirming && chosen.length > 0 && (
        <DisableConfirm
          targets={targetsOf(chosen)}
          busy={busy}
          onConfirm={() => void disable()}
          onCancel={() => setConfirming(false)}
        />
      )}
      {message && <Notice tone={message.tone}>{message.text}</Notice>}
      {error !== undefined && <ErrorAlert error={error} title="The action failed." />}
      {list.error !== undefined && <ErrorAlert error={list.error} title="Could not load the deliveries." />}
      {list.loading && !list.data && <Loading what="Loading deliveries" />}
      {list.data && deliveries.length === 0 && <Notice>No deliveries match.</Notice>}
      {deliveries.length > 0 && (
        <TableWrap label="Callback deliveries">
          <table>
            <caption>Callback deliveries</caption>
            <thead>
              <tr>
                {operator && (
                  <th scope="col" class="select">
                    <input
                      type="checkbox"
                      aria-label="Select all deliveries"
                      checked={allSelected}
                      onChange={(event) =>
                        setSelected(new Set(event.currentTarget.checked ? deliveries.map((d) => d.id) : []))
                      }
                    />
                  </th>
                )}
                <th scope="col">Delivery</th>
                <th scope="col">Caller</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Last answer</th>
                <th scope="col">URL</th>
                <th scope="col">Created</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((delivery) => (
                <tr key={delivery.id} class={selected.has(delivery.id) ? 'selected' : undefined}>
                  {operator && (
                    <td class="select">
                      <input
                        type="checkbox"
                        aria-label={`Select delivery ${delivery.id}`}
                        checked={selected.has(delivery.id)}
                        onChange={(event) => toggle(delivery.id, event.currentTarget.checked)}
                      />
                    </td>
                  )}
                  <td>
                    <code>{delivery.id}</code>
                  </td>
                  <td class="nowrap">{delivery.callerId}</td>
                  <td>
                    <Badge value={delivery.status} />
                  </td>
                  <td class="num">{delivery.attempts}</td>
                  <td class="wrap">
                    {delivery.lastStatus !== null && <span class="strong">HTTP {delivery.lastStatus} </span>}
                    {delivery.lastError ?? (delivery.lastStatus === null ? <span class="muted">–</span> : null)}
                  </td>
                  <td class="url">
                    <code>{delivery.url}</code>
                  </td>
                  <td class="nowrap">
                    <Time iso={delivery.createdAt} />
                  </td>
                  <td class="nowrap">
                    <Time iso={delivery.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
