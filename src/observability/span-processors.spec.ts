import { SpanStatusCode, type Attributes, type AttributeValue, type SpanStatus } from '@opentelemetry/api';
import { FanOutSpanProcessor, redactSpan } from './span-processors';

function fakeSpan(attributes: Attributes, status: SpanStatus = { code: SpanStatusCode.UNSET }) {
  const span = {
    attributes: { ...attributes },
    status,
    setAttribute(key: string, value: AttributeValue) {
      span.attributes[key] = value;
      return span;
    },
    setStatus(next: SpanStatus) {
      span.status = next;
      return span;
    },
  };
  return span;
}

describe('redactSpan', () => {
  it('removes query values from every kind of URL attribute', () => {
    const span = fakeSpan({
      'url.full': 'https://cb.example.com/hook?token=abc',
      'http.url': 'http://h/p?sig=1',
      'http.target': '/p?q=2',
      'url.query': 'a=1&b=2',
      'url.path': '/p',
    });
    redactSpan(span as never);
    expect(span.attributes).toEqual({
      'url.full': 'https://cb.example.com/hook?token=REDACTED',
      'http.url': 'http://h/p?sig=REDACTED',
      'http.target': '/p?q=REDACTED',
      'url.query': 'a=REDACTED&b=REDACTED',
      'url.path': '/p',
    });
  });

  it('removes SQL literals and replaces a database error message that could quote a value', () => {
    const span = fakeSpan(
      { 'db.system.name': 'postgresql', 'db.query.text': "SELECT 1 FROM t WHERE name = 'Jane'" },
      { code: SpanStatusCode.ERROR, message: 'invalid input syntax for type uuid: "jane@example.com"' },
    );
    redactSpan(span as never);
    expect(span.attributes['db.query.text']).toBe('SELECT ? FROM t WHERE name = ?');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'database error' });
  });

  it('leaves other spans alone', () => {
    const span = fakeSpan(
      { 'fulfillment.intent': 'GetAccountBalance' },
      { code: SpanStatusCode.ERROR, message: 'TypeError' },
    );
    redactSpan(span as never);
    expect(span.attributes).toEqual({ 'fulfillment.intent': 'GetAccountBalance' });
    expect(span.status.message).toBe('TypeError');
  });
});

describe('FanOutSpanProcessor', () => {
  it('passes spans to the processors added so far', async () => {
    const fanOut = new FanOutSpanProcessor();
    const seen: string[] = [];
    const processor = (name: string) => ({
      onStart: () => seen.push(`${name}:start`),
      onEnding: () => seen.push(`${name}:ending`),
      onEnd: () => seen.push(`${name}:end`),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    });
    fanOut.onEnd({} as never);
    fanOut.add(processor('a'));
    fanOut.add(processor('b'));
    fanOut.onStart({} as never, {} as never);
    fanOut.onEnding({} as never);
    fanOut.onEnd({} as never);
    await fanOut.forceFlush();
    expect(seen).toEqual(['a:start', 'b:start', 'a:ending', 'b:ending', 'a:end', 'b:end']);
    expect(fanOut.size).toBe(2);
  });
});
