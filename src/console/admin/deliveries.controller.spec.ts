import type { DeliveryAdministration, DeliverySummary } from '../../async/delivery-admin';
import type { AdminPrincipal, AdminRequest } from './admin-principal';
import type { ConsoleOptions } from '../console.options';
import type { ConsoleAudit } from './console-audit';
import { DeliveriesController } from './deliveries.controller';
import { maskedUrl } from './masked-url';

const row = { id: 'msg_1', url: 'https://hooks.example/T0/B0/SECRETTOKEN' } as DeliverySummary;
const as = (roles: AdminPrincipal['roles']) =>
  ({ principal: { subject: 's', name: 'S', roles, via: 'oidc', sessionId: 'x' } }) as AdminRequest;

describe('DeliveriesController list', () => {
  const deliveries = { list: () => Promise.resolve([row]) } as unknown as DeliveryAdministration;
  const options = { urlDigestKey: Buffer.alloc(32, 1) } as ConsoleOptions;
  const controller = new DeliveriesController(deliveries, {} as ConsoleAudit, options);

  it('shows operators the URL in full (they disable it by it), viewers its origin and a digest under the configured key', async () => {
    expect((await controller.list({}, as(['operator']))).deliveries[0].url).toBe(row.url);
    const seen = (await controller.list({}, as(['viewer']))).deliveries[0].url;
    expect(seen).toBe(maskedUrl(row.url, options.urlDigestKey));
    expect(seen).not.toBe(maskedUrl(row.url));
    expect(seen).not.toContain('SECRETTOKEN');
  });
});
