import type { StreamableFile } from '@nestjs/common';
import type { AuditEvent } from '../../audit/audit-event.entity';
import type { AuditFilter, AuditSearch } from '../../audit/audit-search';
import type { AdminPrincipal, AdminRequest } from './admin-principal';
import { AuditController } from './audit.controller';
import type { ConsoleAudit } from './console-audit';

const principal: AdminPrincipal = { subject: 's', name: 'S', roles: ['viewer'], via: 'oidc', sessionId: 'x' };
const request = { principal, query: { event: 'authn_login_fail', limit: '1500' } } as unknown as AdminRequest;
const events = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: String(from - i), event: 'authn_login_fail' }) as AuditEvent);

function harness(find: (filter: AuditFilter) => Promise<AuditEvent[]>) {
  const filters: AuditFilter[] = [];
  const acted = jest.fn();
  const search = { find: (filter: AuditFilter) => (filters.push(filter), find(filter)) } as AuditSearch;
  const controller = new AuditController(search, { acted } as unknown as ConsoleAudit);
  return { controller, filters, acted };
}

async function text(file: StreamableFile): Promise<string> {
  let all = '';
  for await (const chunk of file.getStream()) all += String(chunk);
  return all;
}

describe('AuditController export', () => {
  it('lets a PostgreSQL failure on the first page be the error answer, before any response, and audits no export', async () => {
    const down = new Error('connect ECONNREFUSED');
    const { controller, acted } = harness(() => Promise.reject(down));
    const answer = await Promise.resolve(controller.export({ event: 'authn_login_fail' }, request)).then(
      () => 'a CSV response',
      (error: unknown) => error,
    );
    expect(answer).toBe(down);
    expect(acted).not.toHaveBeenCalled();
  });

  it('audits the export once its first page is read, then sends every page up to the limit', async () => {
    const { controller, filters, acted } = harness((filter) =>
      Promise.resolve(events(Number(filter.beforeId ?? 5000), filter.limit)),
    );
    const file = await controller.export({ event: 'authn_login_fail', limit: 1500 }, request);
    expect(acted).toHaveBeenCalledWith(request, principal, 'audit_export', 'event=authn_login_fail&limit=1500');
    const lines = (await text(file)).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^"id","occurredAt","event",/);
    expect(lines).toHaveLength(1 + 1500);
    expect(lines[1000]).toMatch(/^"4001",/);
    expect(filters.map((filter) => [filter.beforeId, filter.limit])).toEqual([
      [undefined, 1000],
      ['4001', 500],
    ]);
  });
});
