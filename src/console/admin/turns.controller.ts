import { ApiOperation, ApiServiceUnavailableResponse, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import {
  Controller,
  Get,
  Headers,
  HttpCode,
  MessageEvent,
  Param,
  Post,
  Query,
  Req,
  Sse,
  SseSignal,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import type { TurnFilter, TurnRow, CapturedBodies } from '../turn-log/turn-log.queries';
import { TurnLogQueries } from '../turn-log/turn-log.queries';
import { TurnTail } from '../turn-log/turn-tail';
import { AppError } from '../../common/errors/app-error';
import { ErrorResponseSchema } from '../../common/http/error-response.schema';
import { curlCommand } from '../capture/curl-command';
import type { AdminRequest } from './admin-principal';
import { RequiresRole } from './admin-auth.guard';
import { NumericIdParam } from './captures.dto';
import { ConsoleAudit } from './console-audit';
import { SessionRevocations } from '../sessions/session-revocations';
import { LocalInstance, type SentAgain } from './local-instance';
import { TurnsQuery } from './turns.query';
import { STREAMS_PER_PROCESS, STREAMS_PER_SESSION, TailStreams } from './tail-streams';

const DEFAULT_LIMIT = 100;
const RESUME_LIMIT = 500;
/**
 * Characters of events that may wait for a client that does not read them (after what the socket holds) before
 * its connection is dropped: its browser reconnects, and resumes from the last turn it received.
 */
export const STREAM_BACKLOG_CHARS = 64 * 1024;

function filterOf(query: TurnsQuery): TurnFilter {
  return {
    platform: query.platform,
    intent: query.intent,
    callerId: query.caller,
    outcome: query.outcome,
    minDurationMs: query.minMs,
    from: query.from ? new Date(query.from) : undefined,
    to: query.to ? new Date(query.to) : undefined,
    beforeId: query.before,
    limit: query.limit ?? DEFAULT_LIMIT,
  };
}

/**
 * A turn's event, its JSON written once for all the streams it goes to (the live tail hands each of them the same
 * row): with many streams open, a burst would otherwise be serialized, and held while it waits, once per stream.
 */
const serialized = new WeakMap<TurnRow, string>();
function turnEvent(turn: TurnRow): MessageEvent {
  let data = serialized.get(turn);
  if (data === undefined) {
    data = JSON.stringify(turn);
    serialized.set(turn, data);
  }
  return { type: 'turn', id: turn.id, data };
}

/** Whether a live turn passes the table's filters (the same ones the search applies in SQL). */
function matches(filter: TurnFilter, turn: TurnRow): boolean {
  return (
    (filter.platform === undefined || turn.platform === filter.platform) &&
    (filter.intent === undefined || turn.intent === filter.intent) &&
    (filter.callerId === undefined || turn.callerId === filter.callerId) &&
    (filter.outcome === undefined || turn.outcome === filter.outcome) &&
    (filter.minDurationMs === undefined || turn.durationMs >= filter.minDurationMs) &&
    (filter.from === undefined || turn.at.getTime() >= filter.from.getTime()) &&
    (filter.to === undefined || turn.at.getTime() < filter.to.getTime()) &&
    (filter.beforeId === undefined || BigInt(turn.id) < BigInt(filter.beforeId))
  );
}

/** Recent turns, newest first, and their live tail. */
@Controller('api/turns')
export class TurnsController {
  private readonly streams: TailStreams;

  constructor(
    private readonly queries: TurnLogQueries,
    private readonly tail: TurnTail,
    private readonly local: LocalInstance,
    private readonly audit: ConsoleAudit,
    revocations: SessionRevocations,
  ) {
    this.streams = new TailStreams(revocations);
  }

  @ApiOperation({ summary: 'Recent turns, newest first, filtered, with a cursor for the next page' })
  @Get()
  async list(@Query() query: TurnsQuery): Promise<{ turns: TurnRow[]; next?: string }> {
    const filter = filterOf(query);
    const turns = await this.queries.search(filter);
    return { turns, next: turns.length === filter.limit ? turns[turns.length - 1].id : undefined };
  }

  /**
   * Server-Sent Events: each new turn that passes the filters as a `turn` event whose id is the turn's, so a
   * reconnecting browser (Last-Event-ID) first gets what it missed, then the live turns, each once and in order
   * (the live tail's turns are held while the missed ones are read: both can hold a turn committed meanwhile);
   * a `gap` event first when not all the missed ones are sent, and whenever the live tail lost turns.
   * A `ping` every 15 s keeps proxies from closing a quiet stream. A session may have `STREAMS_PER_SESSION` streams
   * open (429 past that), the console `STREAMS_PER_PROCESS` (503); a client that falls `STREAM_BACKLOG_CHARS`
   * behind is dropped, and resumes when its browser reconnects.
   */
  @ApiOperation({ summary: 'New turns as they finish (Server-Sent Events, event "turn"; resumes from Last-Event-ID)' })
  @ApiTooManyRequestsResponse({
    description: `RATE_LIMITED: this session has ${STREAMS_PER_SESSION} streams open already; retry after Retry-After.`,
    type: ErrorResponseSchema,
  })
  @ApiServiceUnavailableResponse({
    description: `OVERLOADED: this console serves ${STREAMS_PER_PROCESS} streams already; retry after Retry-After.`,
    type: ErrorResponseSchema,
  })
  @Sse('stream', { maxPendingDataLength: STREAM_BACKLOG_CHARS })
  stream(
    @Query() query: TurnsQuery,
    @Req() request: AdminRequest,
    @Headers('last-event-id') lastEventId?: string,
    @SseSignal() closed?: AbortSignal,
  ): Observable<MessageEvent> {
    const filter = filterOf(query);
    // Taken before the stream starts, so a refusal is an answer of its own (429 or 503), not a stream; given back
    // when the connection closes, also when the stream never started (the client left first).
    const slot = this.streams.admit(request.principal);
    if (closed?.aborted) slot.release();
    else closed?.addEventListener('abort', () => slot.release(), { once: true });
    return new Observable<MessageEvent>((subscriber) => {
      const send = (turns: readonly TurnRow[]): void => {
        for (const turn of turns) {
          if (matches(filter, turn)) subscriber.next(turnEvent(turn));
        }
      };
      const gap = () => subscriber.next({ type: 'gap', data: '' });
      const resumeAfter = lastEventId && /^\d{1,18}$/.test(lastEventId) ? lastEventId : undefined;
      let held: TurnRow[] | undefined = resumeAfter ? [] : undefined;
      // More live turns came than are held while the missed ones are read: those held are dropped, and a gap said.
      let overflowed = false;
      // The missed turns sent, by id: the tail reads each announced batch a moment after it commits, so one that
      // committed before the read of the missed turns can still come from the tail after them.
      let resent = new Set<string>();
      const live = (turns: readonly TurnRow[]): void => {
        if (!held) return send(resent.size > 0 ? turns.filter((turn) => !resent.has(turn.id)) : turns);
        held.push(...turns.filter((turn) => matches(filter, turn)));
        if (held.length > RESUME_LIMIT) {
          held = [];
          overflowed = true;
        }
      };
      const unsubscribe = this.tail.subscribe(live, gap);
      if (resumeAfter) {
        // The newest missed turns that pass the filters, oldest first. When more were missed than are sent (or
        // they could not be read), a `gap` event says so first: the browser reloads its list rather than show a
        // hole no one can see.
        const resume = (missed: readonly TurnRow[], complete: boolean): void => {
          const waiting = held ?? [];
          held = undefined;
          if (!complete || overflowed) gap();
          resent = new Set(missed.map((turn) => turn.id));
          for (const turn of [...missed].reverse()) subscriber.next(turnEvent(turn));
          live(waiting);
        };
        this.queries.search({ ...filter, afterId: resumeAfter, limit: RESUME_LIMIT }).then(
          (missed) => resume(missed, missed.length < RESUME_LIMIT),
          () => resume([], false),
        );
      }
      // The stream lasts no longer than the session: it ends when the session expires, is signed out here, or is
      // found signed out (on another replica) by its session's heartbeat.
      slot.attach({ ping: () => subscriber.next({ type: 'ping', data: '' }), end: () => subscriber.complete() });
      return () => {
        slot.release();
        unsubscribe();
      };
    });
  }

  /**
   * One turn, with its captured bodies when a capture was on for it, a curl command that sends the request again
   * and whether this console can send it to its own instance. Reading captured bodies is audited.
   */
  @ApiOperation({
    summary: 'One turn, with its captured bodies and a curl command when a capture was on (reading them is audited)',
  })
  @Get(':id')
  async one(
    @Param() { id }: NumericIdParam,
    @Req() request: AdminRequest,
  ): Promise<{ turn: TurnRow; capture: (CapturedBodies & { curl: string; canSendAgain: boolean }) | null }> {
    const found = await this.queries.one(id);
    if (!found) throw new AppError('NOT_FOUND', `No turn ${id} in the turn log (it may have been purged).`);
    if (!found.capture) return { turn: found.turn, capture: null };
    this.audit.acted(request, request.principal!, 'capture_view', `turn ${id} (${found.turn.requestId})`);
    const baseUrl = this.local.baseUrl;
    const local = baseUrl ? { baseUrl, token: this.local.token } : undefined;
    return {
      turn: found.turn,
      capture: {
        ...found.capture,
        curl: curlCommand(found.capture.path, found.capture.request, local),
        canSendAgain: local !== undefined,
      },
    };
  }

  /** Development only: the captured (redacted) request, sent to this instance's own webhook route. */
  @ApiOperation({ summary: "Send a turn's captured request to this instance again (development on plain HTTP only)" })
  @Post(':id/send-again')
  @HttpCode(200)
  @RequiresRole('operator')
  async sendAgain(@Param() { id }: NumericIdParam, @Req() request: AdminRequest): Promise<SentAgain> {
    const baseUrl = this.local.baseUrl;
    if (!baseUrl) {
      throw new AppError('NOT_FOUND', 'Sending again is offered only by a development instance on plain HTTP.');
    }
    const found = await this.queries.one(id);
    if (!found?.capture) throw new AppError('NOT_FOUND', `Turn ${id} has no captured request.`);
    this.audit.acted(request, request.principal!, 'capture_send_again', `turn ${id} to ${baseUrl}`);
    return this.local.send(baseUrl, found.capture.path, found.capture.request);
  }
}
