// Reference: the same SELECT behind a bare NestJS 11 application on @nestjs/platform-express (the framework the
// service is built on and the issue keeps), with nothing of the service's: no middleware of ours, no guards, no
// validation, no logging. One controller, one route, Nest's own JSON body parser and reply. What this row costs
// beyond the express reference is what Nest itself adds to every turn.
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { BALANCE_SQL } from '../request.mjs';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });

// Plain JavaScript: the decorators are applied by hand, as TypeScript's compiled output would apply them.
class WebhookController {
  async fulfill(body) {
    const { user_id: userId, account_type: accountType } = body.queryResult.parameters;
    const { rows } = await pool.query({
      name: 'banking_find_account',
      text: BALANCE_SQL,
      values: [userId, accountType],
    });
    return { fulfillmentText: `balance ${rows[0]?.balance_minor}` };
  }
}
const fulfill = Object.getOwnPropertyDescriptor(WebhookController.prototype, 'fulfill');
Body()(WebhookController.prototype, 'fulfill', 0);
Reflect.decorate([Post('dialogflow-es'), HttpCode(200)], WebhookController.prototype, 'fulfill', fulfill);
Reflect.decorate([Controller('v1/webhooks')], WebhookController);

class BaselineModule {}
Reflect.decorate([Module({ controllers: [WebhookController] })], BaselineModule);

const app = await NestFactory.create(BaselineModule, { logger: false });
app.getHttpAdapter().getInstance().disable('x-powered-by').set('etag', false);
await app.listen(Number(process.env.PORT), '127.0.0.1');
process.stdout.write('Listening\n');
process.on('SIGTERM', () => app.close().then(() => pool.end().then(() => process.exit(0))));
