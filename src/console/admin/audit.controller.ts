import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get, Query, Req, StreamableFile } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { Readable } from 'node:stream';
import type { AuditEvent } from '../../audit/audit-event.entity';
import { type AuditFilter, AuditSearch } from '../../audit/audit-search';
import { toInt } from '../../config';
import type { AdminRequest } from './admin-principal';
import { ConsoleAudit } from './console-audit';
import { csvLine } from './csv';
import { IsFilterText } from './filter-text';
import { TimeRangeQuery } from './time-range.query';

const PAGE = 1000;
const MAX_EXPORT_ROWS = 100_000;

export class AuditQuery extends TimeRangeQuery {
  /** An OWASP logging vocabulary name, e.g. `authn_login_fail`. */
  @IsOptional()
  @Matches(/^[a-z_]{1,64}$/, { message: 'event must be an event name such as authn_login_fail' })
  event?: string;

  @IsOptional()
  @IsFilterText(64)
  caller?: string;

  /** The client address the events came from. */
  @IsOptional()
  @IsFilterText(64)
  source?: string;

  /** Rows per page (at most 500), or in an export (at most 100000). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(MAX_EXPORT_ROWS)
  limit?: number;
}

const COLUMNS = [
  'id',
  'occurredAt',
  'event',
  'outcome',
  'callerId',
  'method',
  'reason',
  'remoteAddress',
  'route',
  'requestId',
  'traceId',
  'detail',
  'dropped',
] as const satisfies readonly (keyof AuditEvent)[];

function filterOf(query: AuditQuery, limit: number): AuditFilter {
  return {
    event: query.event,
    callerId: query.caller,
    source: query.source,
    from: query.from ? new Date(query.from) : undefined,
    to: query.to ? new Date(query.to) : undefined,
    beforeId: query.before,
    limit,
  };
}

/** The audit trail: searched by event, caller, source and time; exported as CSV (itself an audited action). */
@Controller('api/audit')
export class AuditController {
  constructor(
    private readonly search: AuditSearch,
    private readonly audit: ConsoleAudit,
  ) {}

  @ApiOperation({ summary: 'Search the audit trail by event, caller, source and time (newest first, paged)' })
  @Get()
  async list(@Query() query: AuditQuery): Promise<{ events: AuditEvent[]; next?: string }> {
    const limit = Math.min(query.limit ?? 100, 500);
    const events = await this.search.find(filterOf(query, limit));
    return { events, next: events.length === limit ? events[events.length - 1].id : undefined };
  }

  /**
   * Every row that matches (up to `limit`, 10000 by default), newest first, read a page at a time. The first page
   * is read before the response starts, so that PostgreSQL failing there is answered like any console request
   * (503) rather than as a 200 cut short; from then on the export is under way, and audited.
   */
  @ApiOperation({ summary: 'Export the audit events a search finds as CSV (an audited action)' })
  @Get('export')
  async export(@Query() query: AuditQuery, @Req() request: AdminRequest): Promise<StreamableFile> {
    const wanted = query.limit ?? 10_000;
    const first = await this.search.find(filterOf(query, Math.min(PAGE, wanted)));
    this.audit.acted(
      request,
      request.principal!,
      'audit_export',
      new URLSearchParams(request.query as Record<string, string>).toString(),
    );
    return new StreamableFile(Readable.from(csvRows(this.search, query, wanted, first)), {
      type: 'text/csv; charset=utf-8',
      disposition: 'attachment; filename="audit.csv"',
    });
  }
}

async function* csvRows(
  search: AuditSearch,
  query: AuditQuery,
  wanted: number,
  first: AuditEvent[],
): AsyncGenerator<string> {
  yield csvLine(COLUMNS);
  let page = first;
  let sent = 0;
  for (;;) {
    for (const event of page) yield csvLine(COLUMNS.map((column) => event[column]));
    sent += page.length;
    if (page.length < PAGE || sent >= wanted) return;
    const before = page[page.length - 1].id;
    page = await search.find(filterOf({ ...query, before }, Math.min(PAGE, wanted - sent)));
  }
}
