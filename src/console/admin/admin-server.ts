import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { answerClientErrors, limitSlowClients } from '../../common/http/client-errors';
import type { HttpConfig } from '../../config';
import { logRefusedRequest } from '../../observability/access-log';

/**
 * The webhook port's limits and parser answers, on the admin listener: slow clients cannot hold connections open,
 * and what Node's parser refuses is answered as JSON with an access line, not with a bare 400.
 */
export function hardenAdminServer(server: Server, http: HttpConfig, app: unknown, access: Logger): void {
  limitSlowClients(server, http);
  answerClientErrors(server, app, (refused) => logRefusedRequest(access, refused));
}
