import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CallerAuthGuard } from '../../auth/caller-auth.guard';
import { CurrentCaller } from '../../auth/current-caller.decorator';
import { WebhookPlatform } from '../../auth/webhook-platform.decorator';
import type { RequestContext } from '../../common/http/request-context';
import { sendReply } from '../../common/http/send-json';
import { ApiWebhookAuth, ApiWebhookErrors } from '../../docs/api-webhook.decorators';
import type { Caller } from '../../fulfillment';
import { CallerThrottlerGuard } from '../../throttling/caller-throttler.guard';
import { GenericWebhookRequest } from './generic.request';
import { GENERIC_MAX_RESPONSE_BYTES, GENERIC_MESSAGE_SCHEMAS, GenericWebhookResponseSchema } from './generic.response';
import { GenericWebhook } from './generic.webhook';

@ApiTags('generic')
@ApiWebhookAuth()
@ApiExtraModels(...GENERIC_MESSAGE_SCHEMAS)
@Controller('v1/webhooks/generic')
@WebhookPlatform('generic')
@UseGuards(CallerAuthGuard, CallerThrottlerGuard)
export class GenericController {
  constructor(private readonly webhook: GenericWebhook) {}

  /** Answers with a serialised, size-checked generic response. */
  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Fulfil one turn of a custom bot (generic JSON format)',
    description:
      'Runs the handler of `intent` and answers with its result in full, plus `outcome` and `requestId`. ' +
      'Always 200 once the request is valid and authenticated: an unknown intent, a failing or slow handler ' +
      `show in \`outcome\`. Responses are at most ${GENERIC_MAX_RESPONSE_BYTES} bytes (256 KiB); a larger ` +
      'result is replaced by the error reply with outcome `failed`. Unknown request fields are ignored.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Used as `requestId` when the body has none (1 to 255 printable ASCII characters).',
  })
  @ApiBody({ type: GenericWebhookRequest })
  @ApiOkResponse({ type: GenericWebhookResponseSchema, description: 'The fulfillment result.' })
  @ApiWebhookErrors()
  async fulfill(
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
    @Req() request: RequestContext,
    @Res() response: Response,
  ): Promise<void> {
    sendReply(response, await this.webhook.handle(body, caller, request.requestId, request.headers['idempotency-key']));
  }
}
