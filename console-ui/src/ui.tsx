// The pieces every page uses: alerts and status lines, loading, copying, times, outcomes, JSON.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorBody } from './api';
import { formatFullTime, formatTime } from './format';

/** An error from the API (or the network) where the page was going to show something: read out at once. */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  const body = errorBody(error);
  return (
    <div class="alert alert-error" role="alert">
      <p>
        <strong>{title ?? 'Something went wrong.'}</strong> {body.message}
      </p>
      {body.details && body.details.length > 0 && (
        <ul>
          {body.details.map((detail) => (
            <li key={detail.field}>
              <code>{detail.field}</code>: {detail.problem}
            </li>
          ))}
        </ul>
      )}
      {(body.statusCode > 0 || body.requestId) && (
        <p class="alert-meta">
          {body.statusCode > 0 && <>HTTP {body.statusCode}</>}
          {body.statusCode > 0 && body.error && <> · {body.error}</>}
          {body.requestId && <> · request id {body.requestId}</>}
        </p>
      )}
    </div>
  );
}

/** A quiet message (results of an action, an empty list): announced politely. */
export function Notice({ children, tone = 'info' }: { children: ComponentChildren; tone?: 'info' | 'success' }) {
  return (
    <div class={`alert alert-${tone}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="loading" role="status">
      {what}…
    </p>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Operator console`;
  }, [title]);
  return (
    <header class="page-header">
      <h1 tabIndex={-1}>{title}</h1>
      {children && <div class="page-actions">{children}</div>}
    </header>
  );
}

/** A time as the operator reads it, with the full date and zone on hover and in the markup. */
export function Time({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatFullTime(iso)}>
      {formatTime(iso)}
    </time>
  );
}

const OUTCOME_TONE: Readonly<Record<string, string>> = {
  fulfilled: 'good',
  delivered: 'good',
  success: 'good',
  up: 'good',
  ok: 'good',
  readable: 'good',
  lagging: 'warn',
  down: 'bad',
  replayed: 'info',
  queued: 'info',
  delegated: 'info',
  pending: 'info',
  fallback: 'warn',
  degraded: 'warn',
  busy: 'warn',
  disabled: 'warn',
  failed: 'bad',
  'timed-out': 'bad',
  error: 'bad',
  dead: 'bad',
  failure: 'bad',
};

/** An outcome or status as a badge: its word, with a colour that only repeats it. */
export function Badge({ value }: { value: string }) {
  return <span class={`badge badge-${OUTCOME_TONE[value] ?? 'neutral'}`}>{value}</span>;
}

/** Copies text with the clipboard API; says so, or why not, in a polite status next to the button. */
export function useCopy(): [state: 'idle' | 'copied' | 'failed', copy: (text: string) => Promise<boolean>] {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const copy = useCallback(async (text: string) => {
    window.clearTimeout(timer.current);
    let copied = false;
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      copied = false;
    }
    setState(copied ? 'copied' : 'failed');
    timer.current = window.setTimeout(() => setState('idle'), 2500);
    return copied;
  }, []);
  return [state, copy];
}

/** A value (a trace id, a request id) shown as selectable text with a small copy button. */
export function CopyText({ text, label }: { text: string; label: string }) {
  const [state, copy] = useCopy();
  return (
    <span class="copy-text">
      <code class="selectable">{text}</code>
      <button type="button" class="button-icon" aria-label={`Copy ${label}`} onClick={() => void copy(text)}>
        {state === 'copied' ? 'Copied' : 'Copy'}
      </button>
      <span class="visually-hidden" role="status">
        {state === 'copied'
          ? `${label} copied`
          : state === 'failed'
            ? `Could not copy; select the ${label} instead`
            : ''}
      </span>
    </span>
  );
}

/**
 * A table's frame. When the table is wider than the page it scrolls sideways, and becomes a named region that the
 * keyboard can reach and scroll too (WCAG 2.1.1); otherwise it is no tab stop.
 */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  const frame = useRef<HTMLDivElement>(null);
  const [scrolls, setScrolls] = useState(false);
  useEffect(() => {
    const element = frame.current;
    if (!element) return;
    const measure = () => setScrolls(element.scrollWidth > element.clientWidth + 1);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    if (element.firstElementChild) observer.observe(element.firstElementChild);
    return () => observer.disconnect();
  }, []);
  return (
    <div
      class="table-wrap"
      ref={frame}
      tabIndex={scrolls ? 0 : undefined}
      role={scrolls ? 'region' : undefined}
      aria-label={scrolls ? label : undefined}
    >
      {children}
    </div>
  );
}

/** JSON in a scrollable block that keyboard users can reach and scroll. */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2) ?? 'undefined'}
    </pre>
  );
}

export interface Loaded<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

/** Loads when `key` changes (and on reload()); an answer to an older key is dropped. */
export function useLoad<T>(key: string, load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    const ticket = ++latest.current;
    setState((previous) => ({ data: previous.data, loading: true }));
    loader.current().then(
      (data) => ticket === latest.current && setState({ data, loading: false }),
      (error: unknown) => ticket === latest.current && setState({ error, loading: false }),
    );
  }, [key, round]);
  const reload = useCallback(() => setRound((value) => value + 1), []);
  return { ...state, reload };
}
