// One turn: its row, its captured (redacted) request and response when a capture rule caught it, the request as
// a curl command, and, in development, sending it again to this instance. Below, the capture rules themselves.
import { useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { formatMs } from '../format';
import { NumberField, onSubmitTo, SelectField, TextField } from '../forms';
import { href, navigate } from '../router';
import { useIsOperator } from '../session';
import { rememberedTurn } from '../turn-cache';
import { type Capture, type CaptureRule, PLATFORMS, type TurnDetail, type TurnRow } from '../types';
import { TraceId } from '../trace-id';
import {
  Badge,
  CopyText,
  ErrorAlert,
  JsonBlock,
  Loading,
  Notice,
  PageHeader,
  Time,
  useCopy,
  useLoad,
  TableWrap,
} from '../ui';

function TurnFacts({ turn }: { turn: TurnRow }) {
  return (
    <dl class="facts">
      <div>
        <dt>Time</dt>
        <dd>
          <Time iso={turn.at} />
        </dd>
      </div>
      <div>
        <dt>Intent</dt>
        <dd class="strong">{turn.intent}</dd>
      </div>
      <div>
        <dt>Platform</dt>
        <dd>{turn.platform}</dd>
      </div>
      <div>
        <dt>Caller</dt>
        <dd>{turn.callerId}</dd>
      </div>
      <div>
        <dt>Outcome</dt>
        <dd>
          <Badge value={turn.outcome} />
        </dd>
      </div>
      <div>
        <dt>Duration</dt>
        <dd class={turn.budgetMs > 0 && turn.durationMs > turn.budgetMs ? 'over' : undefined}>
          {formatMs(turn.durationMs)} <span class="muted">of {formatMs(turn.budgetMs)} budget</span>
        </dd>
      </div>
      <div>
        <dt>Request id</dt>
        <dd>
          <CopyText text={turn.requestId} label="request id" />
        </dd>
      </div>
      <div>
        <dt>Trace id</dt>
        <dd>{turn.traceId ? <TraceId traceId={turn.traceId} /> : <span class="muted">none</span>}</dd>
      </div>
    </dl>
  );
}

function CopyCurl({ curl }: { curl: string }) {
  const [state, copy] = useCopy();
  const [fallback, setFallback] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const copyCurl = async () => {
    if (await copy(curl)) return;
    setFallback(true);
    // The browser would not copy (no permission, no secure context): the text, selected, to copy by hand.
    window.setTimeout(() => {
      area.current?.focus();
      area.current?.select();
    });
  };
  return (
    <div class="curl">
      <div class="button-row">
        <button type="button" class="button" onClick={() => void copyCurl()}>
          Copy as curl
        </button>
        <span role="status" class="muted">
          {state === 'copied' ? 'Copied to the clipboard.' : state === 'failed' ? 'Copy it from the box below.' : ''}
        </span>
      </div>
      {fallback && (
        <div class="field">
          <label for="curl-command">curl command</label>
          <textarea id="curl-command" ref={area} readOnly rows={6} value={curl} spellcheck={false} />
        </div>
      )}
    </div>
  );
}

function SendAgain({ turnId }: { turnId: string }) {
  const [result, setResult] = useState<{ status: number; body: unknown }>();
  const [error, setError] = useState<unknown>();
  const [unavailable, setUnavailable] = useState(false);
  const [busy, setBusy] = useState(false);
  const send = async () => {
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(
        await api.post<{ status: number; body: unknown }>(`/api/turns/${encodeURIComponent(turnId)}/send-again`),
      );
    } catch (failure: unknown) {
      if (failure instanceof ApiError && failure.status === 404) setUnavailable(true);
      else setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel" aria-labelledby="send-again-heading">
      <h3 id="send-again-heading">Send again to this instance</h3>
      <p class="hint" id="send-again-hint">
        Sends the captured request to this instance once more and shows its answer (development only).
      </p>
      <button
        type="button"
        class="button button-secondary"
        aria-describedby="send-again-hint"
        disabled={busy || unavailable}
        onClick={() => void send()}
      >
        Send again
      </button>
      {unavailable && <Notice>This instance does not send captured requests again (only in development).</Notice>}
      {error !== undefined && <ErrorAlert error={error} title="Could not send the request again." />}
      {result && (
        <div role="status">
          <p>
            This instance answered <strong>HTTP {result.status}</strong>.
          </p>
          <JsonBlock value={result.body} label="Answer to the request sent again" />
        </div>
      )}
    </section>
  );
}

function CaptureView({ turnId, capture }: { turnId: string; capture: Capture | null }) {
  const operator = useIsOperator();
  if (!capture) {
    return (
      <p>
        No capture of this turn. A capture rule (below) records the redacted request and response of the turns it
        matches while it lasts.
      </p>
    );
  }
  return (
    <>
      <p>
        <span class="muted">Path</span> <code>{capture.path}</code>
        {typeof capture.responseStatus === 'number' && (
          <>
            {' '}
            <span class="muted">· answered</span> <strong>HTTP {capture.responseStatus}</strong>
          </>
        )}
      </p>
      <div class="columns">
        <section aria-labelledby="captured-request">
          <h3 id="captured-request">Request</h3>
          <JsonBlock value={capture.request} label="Captured request (redacted)" />
        </section>
        <section aria-labelledby="captured-response">
          <h3 id="captured-response">Response</h3>
          <JsonBlock value={capture.response} label="Captured response (redacted)" />
        </section>
      </div>
      <CopyCurl curl={capture.curl} />
      {operator && capture.canSendAgain !== false && <SendAgain turnId={turnId} />}
    </>
  );
}

function TurnSection({ turnId }: { turnId: string }) {
  const detail = useLoad(turnId, () => api.get<TurnDetail>(`/api/turns/${encodeURIComponent(turnId)}`));
  if (detail.loading && !detail.data) return <Loading what="Loading the turn" />;
  if (detail.error !== undefined) {
    const known = rememberedTurn(turnId);
    const notFound = detail.error instanceof ApiError && detail.error.status === 404;
    return (
      <>
        {notFound && known ? (
          <Notice>This instance has no details of this turn: its row from the turns list is shown instead.</Notice>
        ) : (
          <ErrorAlert error={detail.error} title={`Could not load turn ${turnId}.`} />
        )}
        {known && <TurnFacts turn={known} />}
      </>
    );
  }
  if (!detail.data) return null;
  return (
    <>
      <TurnFacts turn={detail.data.turn} />
      <section aria-labelledby="capture-heading">
        <h2 id="capture-heading">Captured request and response</h2>
        <CaptureView turnId={turnId} capture={detail.data.capture} />
      </section>
    </>
  );
}

function OpenTurn() {
  return (
    <form
      class="inline-form"
      onSubmit={onSubmitTo(({ turn }) => turn && navigate(`#/turns/${encodeURIComponent(turn)}`))}
    >
      <TextField name="turn" label="Turn id" value={null} hint="From the turns list; or open a row there." />
      <button type="submit" class="button">
        Open turn
      </button>
    </form>
  );
}

function StartCapture({ onStarted }: { onStarted: (rule: CaptureRule) => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const start = async (values: Record<string, string | undefined>) => {
    setBusy(true);
    setError(undefined);
    try {
      const rule = await api.post<CaptureRule>('/api/captures', {
        platform: values.platform,
        callerId: values.callerId,
        minutes: Number(values.minutes ?? 15),
      });
      onStarted(rule);
    } catch (failure: unknown) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel" aria-labelledby="start-capture-heading" onSubmit={onSubmitTo((values) => void start(values))}>
      <h3 id="start-capture-heading">Start a capture</h3>
      <p class="hint">
        Records the redacted request and response of the turns of a platform, of a caller, or of a caller on a platform,
        for a while.
      </p>
      <div class="filter-fields">
        <SelectField name="platform" label="Platform" value={null} options={PLATFORMS} any="Any platform" />
        <TextField name="callerId" label="Caller" value={null} maxLength={128} />
        <NumberField name="minutes" label="For (minutes)" min={1} max={1440} value="15" />
      </div>
      <button type="submit" class="button" disabled={busy}>
        Start capture
      </button>
      {error !== undefined && <ErrorAlert error={error} title="Could not start the capture." />}
    </form>
  );
}

function CaptureRules() {
  const operator = useIsOperator();
  const rules = useLoad('captures', () => api.get<{ rules: CaptureRule[] }>('/api/captures'));
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<unknown>();
  const remove = async (rule: CaptureRule) => {
    setError(undefined);
    try {
      await api.delete(`/api/captures/${encodeURIComponent(rule.id)}`);
      setMessage('Capture rule deleted.');
      rules.reload();
    } catch (failure: unknown) {
      setError(failure);
    }
  };
  const missing = rules.error instanceof ApiError && rules.error.status === 404;
  return (
    <section aria-labelledby="capture-rules-heading">
      <h2 id="capture-rules-heading">Capture rules</h2>
      {rules.loading && !rules.data && <Loading what="Loading capture rules" />}
      {missing && <Notice>This instance does not capture requests yet.</Notice>}
      {rules.error !== undefined && !missing && (
        <ErrorAlert error={rules.error} title="Could not load capture rules." />
      )}
      {message && <Notice tone="success">{message}</Notice>}
      {error !== undefined && <ErrorAlert error={error} title="Could not delete the capture rule." />}
      {rules.data && rules.data.rules.length === 0 && <p class="muted">No capture rule is active.</p>}
      {rules.data && rules.data.rules.length > 0 && (
        <TableWrap label="Active capture rules">
          <table>
            <caption>Active capture rules</caption>
            <thead>
              <tr>
                <th scope="col">Platform</th>
                <th scope="col">Caller</th>
                <th scope="col">Expires</th>
                <th scope="col">Created by</th>
                <th scope="col">Created</th>
                {operator && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {rules.data.rules.map((rule) => (
                <tr key={rule.id}>
                  <td>{rule.platform ?? <span class="muted">any</span>}</td>
                  <td>{rule.callerId ?? <span class="muted">any</span>}</td>
                  <td>
                    <Time iso={rule.expiresAt} />
                  </td>
                  <td>{rule.createdBy}</td>
                  <td>
                    <Time iso={rule.createdAt} />
                  </td>
                  {operator && (
                    <td>
                      <button
                        type="button"
                        class="button button-quiet button-small"
                        aria-label={`Delete capture rule ${rule.id}`}
                        onClick={() => void remove(rule)}
                      >
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {operator && !missing && (
        <StartCapture
          onStarted={() => {
            setMessage('Capture started: matching turns are recorded until it expires.');
            rules.reload();
          }}
        />
      )}
    </section>
  );
}

export function InspectorPage({ turnId }: { turnId?: string }) {
  return (
    <>
      <PageHeader title={turnId ? `Turn ${turnId}` : 'Inspector'}>
        <a class="button button-quiet" href={href('/turns')}>
          Back to turns
        </a>
      </PageHeader>
      {turnId ? <TurnSection turnId={turnId} /> : <OpenTurn />}
      <CaptureRules />
    </>
  );
}
