import { type Context, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { redactQuery, redactUrl, sanitizeSql } from './redaction';

/** Attributes holding a URL (instrumentations of every semantic-conventions vintage). */
const URL_ATTRIBUTES = ['url.full', 'http.url', 'http.target'] as const;
const SQL_ATTRIBUTES = ['db.query.text', 'db.statement'] as const;

type MutableSpan = Pick<Span, 'attributes' | 'status' | 'setAttribute' | 'setStatus'>;

/**
 * The one place the no-PII policy is applied to every span, ours and the instrumentations': query-string
 * values are removed from URLs, literals from SQL, and a database error's message (which can quote a value)
 * is replaced by a generic one.
 */
export function redactSpan(span: MutableSpan): void {
  const attributes = span.attributes;
  for (const key of URL_ATTRIBUTES) {
    const value = attributes[key];
    if (typeof value === 'string' && value.includes('?')) span.setAttribute(key, redactUrl(value));
  }
  const query = attributes['url.query'];
  if (typeof query === 'string' && query !== '') span.setAttribute('url.query', redactQuery(query));
  let database = false;
  for (const key of SQL_ATTRIBUTES) {
    const value = attributes[key];
    if (typeof value !== 'string') continue;
    database = true;
    span.setAttribute(key, sanitizeSql(value));
  }
  if (database && span.status.code === SpanStatusCode.ERROR && span.status.message) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'database error' });
  }
}

/** Applies {@link redactSpan} while a span can still change, before any exporter sees it. */
export class RedactingSpanProcessor implements SpanProcessor {
  onStart(): void {}

  onEnding(span: Span): void {
    redactSpan(span);
  }

  onEnd(): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Span processors that can be added after the SDK started: exporters are created once the instrumentations
 * are in place (an exporter can load a module they patch), and tests add an in-memory exporter.
 */
export class FanOutSpanProcessor implements SpanProcessor {
  private processors: readonly SpanProcessor[] = [];

  add(processor: SpanProcessor): void {
    this.processors = [...this.processors, processor];
  }

  get size(): number {
    return this.processors.length;
  }

  onStart(span: Span, parentContext: Context): void {
    for (const processor of this.processors) processor.onStart(span, parentContext);
  }

  onEnding(span: Span): void {
    for (const processor of this.processors) processor.onEnding?.(span);
  }

  onEnd(span: ReadableSpan): void {
    for (const processor of this.processors) processor.onEnd(span);
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.processors.map((processor) => processor.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.processors.map((processor) => processor.shutdown()));
  }
}
