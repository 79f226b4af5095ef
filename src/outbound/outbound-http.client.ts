import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import {
  type CircuitBreakerPolicy,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  retry,
} from 'cockatiel';
import { Agent, type Dispatcher, request as undiciRequest } from 'undici';
import { consecutiveFailuresCircuit, throughCircuit } from './circuit';
import {
  ForbiddenAddressError,
  OutboundNetworkError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from './outbound.errors';
import { parseRetryAfter } from './retry-after';
import { abortReason, untilAborted } from './until-aborted';

export type OutboundHeaders = Dispatcher.ResponseData['headers'];

export interface OutboundRequest {
  readonly method: string;
  readonly url: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Per attempt, including reading the body. Default 5000. */
  readonly timeoutMs?: number;
  /** Extra attempts after the first; only used when the call is idempotent. Default 0. */
  readonly retries?: number;
  /** Whether repeating the call is safe. Default: true for GET, HEAD, OPTIONS, PUT and DELETE. */
  readonly idempotent?: boolean;
  /** The handler's deadline signal: aborting it rejects at once with its reason and stops retrying. */
  readonly signal?: AbortSignal;
  /** The handler's deadline: a `Retry-After` that ends after it is not waited for. */
  readonly deadline?: Date;
  /** Circuit breaker key; calls sharing a key share a breaker. Default: the URL's origin. */
  readonly breaker?: string;
  /** Used instead of the shared keep-alive agent, e.g. an SSRF-guarded agent from `createGuardedAgent`. */
  readonly dispatcher?: Dispatcher;
  /** The longest body read; a longer one fails the call (`OutboundResponseTooLargeError`). Default 4 MiB. */
  readonly maxResponseBytes?: number;
}

/** A fully read response; 3xx responses are returned as they are, never followed. */
export class OutboundResponse {
  constructor(
    readonly status: number,
    readonly headers: OutboundHeaders,
    readonly body: Buffer,
  ) {}

  text(): string {
    return this.body.toString('utf8');
  }

  /**
   * Throws a SyntaxError when the body is not JSON, whose message quotes none of the body (V8's quotes a piece of
   * it, which went to the log: a downstream answer may carry customer data).
   */
  json(): unknown {
    try {
      return JSON.parse(this.text());
    } catch {
      throw new SyntaxError(`the answer (HTTP ${this.status}, ${this.body.length} bytes) is not JSON`);
    }
  }

  /** The wait a 429 or 503 asks for with `Retry-After`, in milliseconds. */
  retryAfterMs(now = Date.now()): number | undefined {
    return this.status === 429 || this.status === 503 ? parseRetryAfter(this.headers['retry-after'], now) : undefined;
  }
}

export interface OutboundHttpOptions {
  /** Consecutive failed calls that open a key's circuit. Default 5. */
  readonly breakAfterFailures?: number;
  /** How long an open circuit refuses calls before letting one trial call through. Default 10 s. */
  readonly halfOpenAfterMs?: number;
  /** Connections the shared agent keeps per origin. Default 32. */
  readonly connectionsPerOrigin?: number;
  /** Idle time before the shared agent closes a kept-alive connection; below servers' usual 5 s. Default 4 s. */
  readonly keepAliveTimeoutMs?: number;
  /** The longest `Retry-After` wait honoured when the call has no (later) deadline. Default 5 s. */
  readonly maxRetryAfterMs?: number;
}
/** Injection token for {@link OutboundHttpOptions}; optional, the defaults suit production. */
export const OutboundHttpOptions = Symbol('OutboundHttpOptions');

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
/** Bounds memory when callers use many origins (callbacks): the oldest breaker is forgotten first. */
const MAX_BREAKERS = 1_000;

/**
 * The whole body, up to the call's `maxResponseBytes`: an API (or a callback receiver) that answers without end
 * would otherwise fill the process's memory within the timeout.
 */
async function readBody(response: Dispatcher.ResponseData, call: Call): Promise<Buffer> {
  const tooLarge = () =>
    new OutboundResponseTooLargeError(call.method, call.url.origin, response.statusCode, call.maxResponseBytes);
  // Destroyed unread, undici's body emits an abort error: nobody is left to want it.
  const abandon = () => response.body.on('error', () => undefined).destroy();
  const declared = Number(response.headers['content-length']);
  if (declared > call.maxResponseBytes) {
    abandon();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > call.maxResponseBytes) {
      abandon();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

interface Call {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly dispatcher: Dispatcher;
  readonly maxResponseBytes: number;
}

/** Failures that say something about the downstream API's health: these are retried and trip the breaker. */
const isTransportFailure = (error: Error) =>
  error instanceof OutboundTimeoutError || error instanceof OutboundNetworkError;

/**
 * The one way this service calls other HTTP APIs: a shared keep-alive agent, a timeout per attempt, retries
 * with exponential backoff and jitter for idempotent calls only, a circuit breaker per downstream, no
 * redirects, and W3C trace context on every attempt (added by the undici instrumentation, each attempt its own
 * client span).
 */
@Injectable()
export class OutboundHttpClient implements OnModuleDestroy {
  private readonly logger = new Logger(OutboundHttpClient.name);
  private readonly agent: Agent;
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();
  private readonly breakAfterFailures: number;
  private readonly halfOpenAfterMs: number;
  private readonly maxRetryAfterMs: number;
  /** Aborted when the application closes: requests still running then are given up, not waited for. */
  private readonly closing = new AbortController();
  /**
   * The attempts under way, each its own controller, which closing aborts; an attempt leaves once it settles.
   * (Combining each attempt's signal with `closing.signal` by `AbortSignal.any` made Node keep an entry per attempt
   * on the long-lived closing signal, never pruned: memory grew with every outbound call.)
   */
  private readonly attempts = new Set<AbortController>();

  constructor(@Optional() @Inject(OutboundHttpOptions) options: OutboundHttpOptions = {}) {
    this.breakAfterFailures = options.breakAfterFailures ?? 5;
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 10_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 5_000;
    this.agent = new Agent({
      connections: options.connectionsPerOrigin ?? 32,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    });
  }

  /**
   * The application closes once the shutdown's grace period is spent: a request still running then belongs to work
   * nobody waits for any more (late work given up, a job past its time). Agent#close() waited for it, a carrier
   * that never answered held the close for its whole timeout, and the process was forced out (exit 1) with the
   * final flushes skipped. Such requests are aborted, with every dispatcher's (guarded agents' too), and the shared
   * agent's connections dropped.
   */
  async onModuleDestroy(): Promise<void> {
    const reason = new DOMException(
      'the service is stopping: an outbound request still running was aborted',
      'AbortError',
    );
    this.closing.abort(reason);
    for (const attempt of this.attempts) attempt.abort(reason);
    await this.agent.destroy();
  }

  /**
   * Sends the request and reads the whole response. Resolves with any HTTP status (retryable ones after the
   * last attempt); rejects with `OutboundTimeoutError`, `OutboundNetworkError`, `CircuitOpenError`,
   * `ForbiddenAddressError` (guarded dispatchers), or the signal's reason once it aborts (an `AbortError` once the
   * client has closed, see `onModuleDestroy`).
   */
  async request(options: OutboundRequest): Promise<OutboundResponse> {
    options.signal?.throwIfAborted();
    this.closing.signal.throwIfAborted();
    const url = typeof options.url === 'string' ? new URL(options.url) : options.url;
    const method = options.method.toUpperCase();
    const call: Call = {
      method,
      url,
      headers: options.headers ?? {},
      body: options.body,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal: options.signal,
      dispatcher: options.dispatcher ?? this.agent,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    };
    const idempotent = options.idempotent ?? IDEMPOTENT_METHODS.has(method);
    const retryPolicy = retry(
      handleWhen(isTransportFailure).orWhenResult(
        (r) => r instanceof OutboundResponse && this.worthRetrying(r, options),
      ),
      { maxAttempts: idempotent ? (options.retries ?? 0) : 0, backoff: retryBackoff },
    );
    const key = options.breaker ?? url.origin;
    return throughCircuit(this.breakerFor(key), key, options.signal, (trial) =>
      // A trial is one attempt: it only asks whether the API answers again.
      trial ? this.attempt(call) : retryPolicy.execute(() => this.attempt(call), options.signal),
    );
  }

  private async attempt(call: Call): Promise<OutboundResponse> {
    // A retry that was scheduled before the caller gave up (or the client closed) must not reach the server.
    call.signal?.throwIfAborted();
    this.closing.signal.throwIfAborted();
    // Aborted at the attempt's timeout, or when the client closes (see `onModuleDestroy`).
    const attempt = new AbortController();
    this.attempts.add(attempt);
    const timeout = setTimeout(() => attempt.abort(), call.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, attempt.signal]) : attempt.signal;
    try {
      // Raced with the signal: undici acts on an abort only once the request has a connection, so an attempt still
      // resolving, connecting or handshaking would outlive its timeout until undici's own 10 s connect timeout.
      const response = await untilAborted(
        undiciRequest(call.url, {
          method: call.method,
          headers: call.headers,
          body: call.body,
          signal,
          dispatcher: call.dispatcher,
        }),
        signal,
      );
      const body = await readBody(response, call);
      return new OutboundResponse(response.statusCode, response.headers, body);
    } catch (error: unknown) {
      if (error instanceof OutboundResponseTooLargeError) throw error;
      if (call.signal?.aborted) throw abortReason(call.signal);
      // Neither a timeout nor a network failure: not retried, and no breaker counts it.
      if (this.closing.signal.aborted) throw abortReason(this.closing.signal);
      if (attempt.signal.aborted) throw new OutboundTimeoutError(call.method, call.url.origin, call.timeoutMs);
      const forbidden = findForbiddenAddress(error);
      if (forbidden) throw forbidden;
      if ((error as { code?: unknown } | null)?.code === 'UND_ERR_INVALID_ARG') throw error; // a bug, not an outage
      throw new OutboundNetworkError(call.method, call.url.origin, error);
    } finally {
      clearTimeout(timeout);
      this.attempts.delete(attempt);
    }
  }

  /** 429/502/503/504 — unless `Retry-After` asks for a wait that would outlast the budget. */
  private worthRetrying(response: OutboundResponse, options: OutboundRequest): boolean {
    if (!RETRY_STATUSES.has(response.status)) return false;
    const now = Date.now();
    const wait = response.retryAfterMs(now);
    if (wait === undefined) return true;
    const untilDeadline = options.deadline ? options.deadline.getTime() - now : Infinity;
    return wait < Math.min(this.maxRetryAfterMs, untilDeadline);
  }

  private breakerFor(key: string): CircuitBreakerPolicy {
    const existing = this.breakers.get(key);
    if (existing) return existing;
    if (this.breakers.size >= MAX_BREAKERS) {
      const oldest = this.breakers.keys().next();
      if (!oldest.done) this.breakers.delete(oldest.value);
    }
    const breaker = consecutiveFailuresCircuit({
      failsOn: isTransportFailure,
      failsOnResult: (r) => r instanceof OutboundResponse && r.status >= 500,
      breakAfterFailures: this.breakAfterFailures,
      halfOpenAfterMs: this.halfOpenAfterMs,
    });
    breaker.onBreak(() => this.logger.warn(`Circuit "${key}" opened: calls fail fast for ${this.halfOpenAfterMs} ms`));
    breaker.onReset(() => this.logger.log(`Circuit "${key}" closed again`));
    this.breakers.set(key, breaker);
    return breaker;
  }
}

type RetryBackoff = IBackoff<IRetryBackoffContext<unknown>>;

/**
 * Exponential backoff with jitter (~100 ms doubling up to 1 s), or the wait a `Retry-After` asks for when it
 * is longer (it is the least the server wants; the jitter still spreads callers told "0").
 */
function backoffAfter(exponential: IBackoffFactory<unknown>) {
  return (context: IRetryBackoffContext<unknown>): RetryBackoff => {
    const next = exponential.next(context);
    const { result } = context;
    const retryAfter =
      'value' in result && result.value instanceof OutboundResponse ? result.value.retryAfterMs() : undefined;
    return { duration: Math.max(retryAfter ?? 0, next.duration), next: backoffAfter(next) };
  };
}
const retryBackoff: IBackoffFactory<IRetryBackoffContext<unknown>> = {
  next: (context) => backoffAfter(new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }))(context),
};

/** The connector's refusal, wherever undici or net wrapped it (cause, AggregateError). */
function findForbiddenAddress(error: unknown, depth = 0): ForbiddenAddressError | undefined {
  if (error instanceof ForbiddenAddressError) return error;
  if (typeof error !== 'object' || error === null || depth > 3) return undefined;
  // Duck-typed rather than instanceof: errors from Node's core may come from another realm (e.g. under Jest).
  const { errors, cause } = error as { errors?: unknown; cause?: unknown };
  for (const inner of [...(Array.isArray(errors) ? (errors as unknown[]) : []), cause]) {
    const found = findForbiddenAddress(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}
