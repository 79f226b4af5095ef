// This replica's health: its readiness checks as its probe reports them, its database pool, job queues and read
// replicas. Refreshed every 15 seconds while the page is open.
import { useEffect } from 'preact/hooks';
import { api } from '../api';
import { formatMs } from '../format';
import type { HealthView } from '../types';
import { Badge, ErrorAlert, Loading, PageHeader, useLoad, TableWrap } from '../ui';

const REFRESH_MS = 15_000;

function describe(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function Checks({ details }: { details: Readonly<Record<string, unknown>> }) {
  const checks = Object.entries(details);
  if (checks.length === 0) return <p class="muted">The probe reported no checks.</p>;
  return (
    <TableWrap label="Readiness checks">
      <table>
        <caption class="visually-hidden">Readiness checks</caption>
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">Status</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {checks.map(([name, check]) => {
            const { status, ...rest } = (typeof check === 'object' && check !== null ? check : { status: check }) as {
              status?: unknown;
            } & Record<string, unknown>;
            const entries = Object.entries(rest);
            return (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>
                  <Badge value={describe(status)} />
                </td>
                <td class="wrap">
                  {entries.length === 0 ? (
                    <span class="muted">–</span>
                  ) : (
                    <dl class="inline-facts">
                      {entries.map(([key, value]) => (
                        <div key={key}>
                          <dt>{key}</dt>
                          <dd>{describe(value)}</dd>
                        </div>
                      ))}
                    </dl>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}

export function HealthPage() {
  const health = useLoad('health', () => api.get<HealthView>('/api/health'));
  const { reload } = health;
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);
  const view = health.data;
  return (
    <>
      <PageHeader title="Health">
        <button type="button" class="button button-quiet" disabled={health.loading} onClick={reload}>
          Refresh
        </button>
      </PageHeader>
      {health.error !== undefined && <ErrorAlert error={health.error} title="Could not read this replica's health." />}
      {!view && health.loading && <Loading what="Reading health" />}
      {view && (
        <>
          <div class="cards">
            <div class={`card card-${view.readiness.status === 'ok' ? 'good' : 'bad'}`}>
              <h2>Readiness</h2>
              <p class="card-value">{view.readiness.status === 'ok' ? 'Ready' : 'Not ready'}</p>
            </div>
            <div class="card">
              <h2>Database pool</h2>
              {view.pool ? (
                <p class="card-value">
                  {view.pool.inUse} <span class="card-unit">in use</span> · {view.pool.idle}{' '}
                  <span class="card-unit">idle</span> · {view.pool.waiting} <span class="card-unit">waiting</span>
                </p>
              ) : (
                <p class="muted">Not reported.</p>
              )}
            </div>
            <div class="card">
              <h2>Jobs waiting</h2>
              {view.queues ? (
                <p class="card-value">{view.queues.reduce((sum, queue) => sum + queue.size, 0)}</p>
              ) : (
                <p class="muted">The job queue did not answer in time.</p>
              )}
            </div>
          </div>
          <section aria-labelledby="checks-heading">
            <h2 id="checks-heading">Readiness checks</h2>
            <Checks details={view.readiness.details} />
          </section>
          {view.queues && view.queues.length > 0 && (
            <section aria-labelledby="queues-heading">
              <h2 id="queues-heading">Job queues</h2>
              <TableWrap label="Jobs waiting per queue">
                <table>
                  <caption class="visually-hidden">Jobs waiting per queue</caption>
                  <thead>
                    <tr>
                      <th scope="col">Queue</th>
                      <th scope="col" class="num">
                        Waiting
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {view.queues.map((queue) => (
                      <tr key={queue.queue}>
                        <th scope="row">{queue.queue}</th>
                        <td class="num">{queue.size}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </section>
          )}
          <section aria-labelledby="replicas-heading">
            <h2 id="replicas-heading">Read replicas</h2>
            {view.replicas.length === 0 ? (
              <p class="muted">None configured: every read goes to the primary.</p>
            ) : (
              <TableWrap label="Read replicas">
                <table>
                  <caption class="visually-hidden">Read replicas</caption>
                  <thead>
                    <tr>
                      <th scope="col">Replica</th>
                      <th scope="col">State</th>
                      <th scope="col" class="num">
                        Lag
                      </th>
                      <th scope="col">Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {view.replicas.map((replica) => (
                      <tr key={replica.name}>
                        <th scope="row">
                          <code>{replica.name}</code>
                        </th>
                        <td>
                          <Badge value={replica.readable ? 'readable' : replica.up ? 'lagging' : 'down'} />
                        </td>
                        <td class="num">{formatMs(replica.lagMs)}</td>
                        <td class="wrap">{replica.error ?? '–'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </section>
        </>
      )}
    </>
  );
}
