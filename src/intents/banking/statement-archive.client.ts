import { Injectable } from '@nestjs/common';
import { StatementArchiveOptions } from './statement-archive.options';
import { OutboundHttpClient, underBase } from '../../outbound';

export interface ArchiveRequest {
  readonly idempotencyKey: string;
  readonly customerNumber: string;
  readonly accountType: string;
  readonly currency: string;
  readonly periodStart: Date;
  readonly periodEnd: Date;
  readonly transactionCount: number;
  readonly openingMinor: bigint;
  readonly closingMinor: bigint;
}

/**
 * The document archive that renders and files a statement (`POST {STATEMENT_ARCHIVE_URL}/v1/statements`,
 * answering `{reference}`). The turn's idempotency key goes along as `Idempotency-Key`, so a repeated call
 * (a job re-run after a crash) files one document. Without STATEMENT_ARCHIVE_URL, statements get a local
 * reference and are not filed.
 */
@Injectable()
export class StatementArchiveClient {
  constructor(
    private readonly http: OutboundHttpClient,
    private readonly options: StatementArchiveOptions,
  ) {}

  async file(request: ArchiveRequest, signal?: AbortSignal): Promise<string> {
    const base = this.options.url;
    if (!base) return `ST-${request.idempotencyKey.slice(0, 10).toUpperCase()}`;
    const response = await this.http.request({
      method: 'POST',
      url: underBase(base, 'v1/statements'),
      headers: { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey },
      body: JSON.stringify({
        customerNumber: request.customerNumber,
        accountType: request.accountType,
        currency: request.currency,
        periodStart: request.periodStart.toISOString(),
        periodEnd: request.periodEnd.toISOString(),
        transactionCount: request.transactionCount,
        openingMinor: request.openingMinor.toString(),
        closingMinor: request.closingMinor.toString(),
      }),
      timeoutMs: this.options.timeoutMs,
      // Safe to repeat: the archive deduplicates on Idempotency-Key.
      idempotent: true,
      retries: 2,
      signal,
    });
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`statement archive answered HTTP ${response.status}`);
    }
    const reference = (response.json() as { reference?: unknown } | null)?.reference;
    if (typeof reference !== 'string' || reference === '' || reference.length > 200) {
      throw new Error('statement archive answered without a reference');
    }
    return reference;
  }
}
