// The audit trail: security and admin events searched by event, caller, source address and time, newest first,
// and the same search exported as CSV.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api';
import { FilterForm, TextField, TimeField } from '../forms';
import { href, navigate } from '../router';
import type { AuditEvent } from '../types';
import { Badge, CopyText, ErrorAlert, Loading, Notice, PageHeader, Time, TableWrap } from '../ui';

const FILTERS = ['event', 'caller', 'source', 'from', 'to'] as const;

export function AuditPage({ params }: { params: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? undefined]));
  const key = query(filters);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();

  const load = async (before?: string) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.get<{ events: AuditEvent[]; next?: string }>(`/api/audit${query({ ...filters, before })}`);
      setEvents((previous) => (before ? [...previous, ...page.events] : page.events));
      setNext(page.next);
    } catch (failure: unknown) {
      setError(failure);
      if (!before) setEvents([]);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    // Everything `load` reads from the address is in `key`.
    void load();
  }, [key]);

  return (
    <>
      <PageHeader title="Audit trail">
        <a class="button button-quiet" href={`/api/audit/export${key}`} download="audit.csv">
          Export CSV
        </a>
      </PageHeader>
      <p class="lead">Security and admin events, newest first. The export holds every event this search matches.</p>
      <FilterForm
        key={key}
        label="Search the audit trail"
        clearHref="#/audit"
        onSearch={(values) => navigate(href('/audit', values))}
      >
        <TextField
          name="event"
          label="Event"
          value={filters.event ?? null}
          hint="e.g. authn_login_fail"
          maxLength={64}
        />
        <TextField name="caller" label="Caller" value={filters.caller ?? null} maxLength={64} />
        <TextField name="source" label="Source address" value={filters.source ?? null} maxLength={64} />
        <TimeField name="from" label="From" value={filters.from ?? null} />
        <TimeField name="to" label="Until" value={filters.to ?? null} />
      </FilterForm>
      {error !== undefined && <ErrorAlert error={error} title="Could not search the audit trail." />}
      {loading && events.length === 0 && <Loading what="Searching the audit trail" />}
      {!loading && error === undefined && events.length === 0 && <Notice>No events match.</Notice>}
      {events.length > 0 && (
        <TableWrap label="Audit trail entries">
          <table>
            <caption>Audit trail entries</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Outcome</th>
                <th scope="col">Caller</th>
                <th scope="col">Method</th>
                <th scope="col">Reason</th>
                <th scope="col">Source</th>
                <th scope="col">Route</th>
                <th scope="col">Detail</th>
                <th scope="col">Request id</th>
                <th scope="col">Trace id</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.id}>
                  <td class="nowrap">
                    <Time iso={event.occurredAt} />
                  </td>
                  <td class="strong">
                    {event.event}
                    {event.dropped !== null && <span class="muted"> ({event.dropped} dropped)</span>}
                  </td>
                  <td>
                    <Badge value={event.outcome} />
                  </td>
                  <td class="nowrap">{event.callerId}</td>
                  <td>{event.method ?? '–'}</td>
                  <td class="nowrap">{event.reason ?? '–'}</td>
                  <td class="nowrap">{event.remoteAddress ?? '–'}</td>
                  <td class="nowrap">{event.route ? <code>{event.route}</code> : '–'}</td>
                  <td class="wrap">{event.detail ?? '–'}</td>
                  <td class="nowrap">{event.requestId ? <code class="selectable">{event.requestId}</code> : '–'}</td>
                  <td>{event.traceId ? <CopyText text={event.traceId} label="trace id" /> : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {events.length > 0 && (
        <div class="table-footer">
          <span class="muted">
            {events.length} {events.length === 1 ? 'event' : 'events'}
          </span>
          {next && (
            <button type="button" class="button button-quiet" disabled={loading} onClick={() => void load(next)}>
              Older events
            </button>
          )}
        </div>
      )}
    </>
  );
}
