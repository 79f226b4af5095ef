import type { Response } from 'express';
import { Body } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { WebhookCall } from '../platform-adapter';
import {
  CurrentWebhookCall,
  sendTurnReply,
  WebhookPost,
  WebhookResponse,
  WebhookRoute,
} from '../webhook-route.decorator';
import { WebhookRunner } from '../webhook-runner';
import { GenericWebhookRequest } from './generic.request';
import { GENERIC_MAX_RESPONSE_BYTES, GENERIC_MESSAGE_SCHEMAS, GenericWebhookResponseSchema } from './generic.response';

@ApiTags('generic')
@ApiExtraModels(...GENERIC_MESSAGE_SCHEMAS)
@WebhookRoute('generic')
export class GenericController {
  constructor(private readonly runner: WebhookRunner) {}

  /** Answers with a serialised, size-checked generic response. */
  @WebhookPost()
  @ApiOperation({
    summary: 'Fulfil one turn of a custom bot (generic JSON format)',
    description:
      'Runs the handler of `intent` and answers with its result in full, plus `outcome` and `requestId`. ' +
      'Always 200 once the request is valid and authenticated: an unknown intent, a failing or slow handler ' +
      `show in \`outcome\`. Responses are at most ${GENERIC_MAX_RESPONSE_BYTES} bytes (256 KiB); a larger ` +
      'result is sent without its rich messages and payload, then without its session values and contexts, ' +
      'and if still too large is replaced by the error reply with outcome `failed`. Unknown request fields are ignored.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Used as `requestId` when the body has none: a quoted string (RFC 9651 sf-string) of 1 to 255 printable ' +
      'ASCII characters, e.g. `"8e03978e-40d5-43e8-bc93-6894a57f9324"`; the bare form `8e03978e-…` is accepted ' +
      'too. Sent at most once. Required (or a body `requestId`, or a signed `webhook-id`) for intents that ' +
      'change state.',
  })
  @ApiBody({ type: GenericWebhookRequest })
  @ApiOkResponse({ type: GenericWebhookResponseSchema, description: 'The fulfillment result.' })
  async fulfill(
    @Body() body: unknown,
    @CurrentWebhookCall() call: WebhookCall,
    @WebhookResponse() response: Response,
  ): Promise<void> {
    sendTurnReply(response, await this.runner.run('generic', body, call));
  }
}
