import type { DeliveryAdministration, DeliverySummary } from '../../async/delivery-admin';
import type { AdminPrincipal, AdminRequest } from './admin-principal';
import type { ConsoleAudit } from './console-audit';
import { DeliveriesController } from './deliveries.controller';

const row = { id: 'msg_1', url: 'https://hooks.example/T0/B0/SECRETTOKEN' } as DeliverySummary;
const as = (roles: AdminPrincipal['roles']) =>
  ({ principal: { subject: 's', name: 'S', roles, via: 'oidc', sessionId: 'x' } }) as AdminRequest;

describe('DeliveriesController list', () => {
  const deliveries = { list: () => Promise.resolve([row]) } as unknown as DeliveryAdministration;
  const controller = new DeliveriesController(deliveries, {} as ConsoleAudit);

  it('shows operators the URL in full (they disable it by it), viewers its origin and a digest', async () => {
    expect((await controller.list({}, as(['operator']))).deliveries[0].url).toBe(row.url);
    const seen = (await controller.list({}, as(['viewer']))).deliveries[0].url;
    expect(seen).toMatch(/^https:\/\/hooks\.example\/… \(sha256:[0-9a-f]{12}\)$/);
  });
});
