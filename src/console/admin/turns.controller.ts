import { Controller, Get, Headers, MessageEvent, Query, Sse } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { TurnFilter, TurnRow } from '../turn-log/turn-log.queries';
import { TurnLogQueries } from '../turn-log/turn-log.queries';
import { TurnTail } from '../turn-log/turn-tail';
import { TurnsQuery } from './turns.query';

const DEFAULT_LIMIT = 100;
const HEARTBEAT_MS = 15_000;
const RESUME_LIMIT = 500;

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

/** Whether a live turn passes the table's filters (the same ones the search applies in SQL). */
function matches(filter: TurnFilter, turn: TurnRow): boolean {
  return (
    (filter.platform === undefined || turn.platform === filter.platform) &&
    (filter.intent === undefined || turn.intent === filter.intent) &&
    (filter.callerId === undefined || turn.callerId === filter.callerId) &&
    (filter.outcome === undefined || turn.outcome === filter.outcome) &&
    (filter.minDurationMs === undefined || turn.durationMs >= filter.minDurationMs)
  );
}

/** Recent turns, newest first, and their live tail. */
@Controller('api/turns')
export class TurnsController {
  constructor(
    private readonly queries: TurnLogQueries,
    private readonly tail: TurnTail,
  ) {}

  @Get()
  async list(@Query() query: TurnsQuery): Promise<{ turns: TurnRow[]; next?: string }> {
    const filter = filterOf(query);
    const turns = await this.queries.search(filter);
    return { turns, next: turns.length === filter.limit ? turns[turns.length - 1].id : undefined };
  }

  /**
   * Server-Sent Events: each new turn that passes the filters as a `turn` event whose id is the turn's, so a
   * reconnecting browser (Last-Event-ID) first gets what it missed. A `ping` every 15 s keeps proxies from
   * closing a quiet stream.
   */
  @Sse('stream')
  stream(@Query() query: TurnsQuery, @Headers('last-event-id') lastEventId?: string): Observable<MessageEvent> {
    const filter = filterOf(query);
    return new Observable<MessageEvent>((subscriber) => {
      const send = (turns: readonly TurnRow[]): void => {
        for (const turn of turns) {
          if (matches(filter, turn)) subscriber.next({ type: 'turn', id: turn.id, data: turn });
        }
      };
      const unsubscribe = this.tail.subscribe(send);
      if (lastEventId && /^\d{1,18}$/.test(lastEventId)) {
        this.queries.after(lastEventId, RESUME_LIMIT).then(send, () => undefined);
      }
      const heartbeat = setInterval(() => subscriber.next({ type: 'ping', data: '' }), HEARTBEAT_MS);
      return () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
    });
  }
}
