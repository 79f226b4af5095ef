import { ApiOperation } from '@nestjs/swagger';
import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { DeliveryAdministration, type DeliverySummary } from '../../async/delivery-admin';
import { type AdminRequest, hasRole } from './admin-principal';
import { maskedUrl } from './masked-url';
import { RequiresRole } from './admin-auth.guard';
import { ConsoleOptions } from '../console.options';
import { ConsoleAudit } from './console-audit';
import { DeliveriesQuery, DisableCallbackUrl, ReplayDeliveries } from './deliveries.dto';

/** Callback deliveries: the failing and dead ones with their attempts and last error; replay; stop a URL. */
@Controller('api/deliveries')
export class DeliveriesController {
  constructor(
    private readonly deliveries: DeliveryAdministration,
    private readonly audit: ConsoleAudit,
    private readonly options: ConsoleOptions,
  ) {}

  @ApiOperation({
    summary: 'Callback deliveries with their attempts and last error, by status and caller (URLs in full to operators)',
  })
  @Get()
  async list(
    @Query() query: DeliveriesQuery,
    @Req() request: AdminRequest,
  ): Promise<{ deliveries: DeliverySummary[] }> {
    const deliveries = await this.deliveries.list({
      status: query.status,
      callerId: query.caller,
      limit: query.limit ?? 100,
    });
    // A receiver's URL may hold its secret (a Slack-style path, a token in the query): viewers see where, not it.
    if (hasRole(request.principal!, 'operator')) return { deliveries };
    return { deliveries: deliveries.map((delivery) => ({ ...delivery, url: this.masked(delivery.url) })) };
  }

  /** Each id in its own transaction: one that is not dead (any more) does not stop the others. */
  @ApiOperation({ summary: 'Send dead or disabled deliveries again, from their first attempt' })
  @Post('replay')
  @HttpCode(200)
  @RequiresRole('operator')
  async replay(
    @Body() body: ReplayDeliveries,
    @Req() request: AdminRequest,
  ): Promise<{ replayed: DeliverySummary[]; notReplayable: string[] }> {
    const replayed: DeliverySummary[] = [];
    const notReplayable: string[] = [];
    for (const id of new Set(body.ids)) {
      const row = await this.deliveries.replay(id);
      if (!row) {
        notReplayable.push(id);
        continue;
      }
      replayed.push(row);
      this.audit.acted(request, request.principal!, 'delivery_replay', `${id} to ${this.masked(row.url)}`);
    }
    return { replayed, notReplayable };
  }

  @ApiOperation({ summary: "Stop delivering to one of a caller's callback URLs" })
  @Post('disable-url')
  @HttpCode(200)
  @RequiresRole('operator')
  async disableUrl(@Body() body: DisableCallbackUrl, @Req() request: AdminRequest): Promise<{ disabled: boolean }> {
    const disabled = await this.deliveries.disableUrl(body.callerId, body.url);
    this.audit.acted(request, request.principal!, 'callback_url_disable', `${body.callerId} ${this.masked(body.url)}`);
    return { disabled };
  }

  private masked(url: string): string {
    return maskedUrl(url, this.options.urlDigestKey);
  }
}
