import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { addressLimitKey, normaliseAddress } from '../common/net/client-address';
import { AuditEvent } from './audit-event.entity';

export interface AuditFilter {
  readonly event?: string;
  readonly callerId?: string;
  /** The client address the event came from. */
  readonly source?: string;
  readonly from?: Date;
  readonly to?: Date;
  /** Only rows older than this id (the next page). */
  readonly beforeId?: string;
  readonly limit: number;
}

/**
 * What a searched source matches: an address as the rows store it (IPv6 in its canonical form, whatever way it was
 * typed), and the summary rows of its audit budget, which name an IPv6 client by its /64 (`2001:db8:0:1::/64`).
 * Anything else is matched as typed.
 */
function sourcesOf(source: string): string[] {
  const address = normaliseAddress(source.trim());
  return address ? [...new Set([address, addressLimitKey(address)])] : [source];
}

/** Rows of the audit trail, newest first, for the operator console (search and CSV export). */
@Injectable()
export class AuditSearch {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  find(filter: AuditFilter): Promise<AuditEvent[]> {
    const query = this.dataSource.getRepository(AuditEvent).createQueryBuilder('audit');
    if (filter.event !== undefined) query.andWhere('audit.event = :event', { event: filter.event });
    if (filter.callerId !== undefined) query.andWhere('audit.callerId = :callerId', { callerId: filter.callerId });
    if (filter.source !== undefined) {
      query.andWhere('audit.remoteAddress IN (:...sources)', { sources: sourcesOf(filter.source) });
    }
    if (filter.from !== undefined) query.andWhere('audit.occurredAt >= :from', { from: filter.from });
    if (filter.to !== undefined) query.andWhere('audit.occurredAt < :to', { to: filter.to });
    if (filter.beforeId !== undefined) query.andWhere('audit.id < :beforeId', { beforeId: filter.beforeId });
    return query.orderBy('audit.id', 'DESC').limit(filter.limit).getMany();
  }
}
