import { Controller, Get, Param, Res } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentCaller } from '../auth/current-caller.decorator';
import { AppError } from '../common/errors/app-error';
import { sendJson } from '../common/http/send-json';
import { CallerGuards } from '../throttling/caller-guards.decorator';
import { FulfillmentLookup } from '../turn/fulfillment-lookup';
import type { Caller } from '../common/caller';

class FulfillmentStatusSchema {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed'] }) status!: string;
  @ApiProperty({ enum: ['dialogflow-es', 'dialogflow-cx', 'lex-v2', 'rasa', 'generic'] }) platform!: string;
  @ApiProperty() sessionId!: string;
  @ApiProperty() intent!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ type: 'string', format: 'date-time', nullable: true }) completedAt!: string | null;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'The platform-neutral FulfillmentResult (text, messages, sessionParameters, …) once finished.',
  })
  result!: Record<string, unknown> | null;
}

/** Polling for results of async and late work; a caller sees only what it started (others get 404). */
@Controller('v1/fulfillments')
@CallerGuards()
export class FulfillmentsController {
  constructor(private readonly results: FulfillmentLookup) {}

  @Get(':id')
  @ApiTags('Fulfillments')
  @ApiOperation({
    summary: 'Poll the result of async or late work',
    description:
      'The id is the `pendingFulfillmentId` an acknowledgement or interim reply carried. While it runs the answer ' +
      'has `Retry-After: 1`. Only the caller that started it can read it.',
  })
  @ApiOkResponse({
    type: FulfillmentStatusSchema,
    description: 'The fulfillment and, once finished, its result.',
    headers: {
      'Retry-After': {
        description: 'While the work is queued or running: seconds until it is worth polling again.',
        schema: { type: 'integer', minimum: 1 },
      },
    },
  })
  @ApiNotFoundResponse({
    description:
      'No such fulfillment for this caller (or it expired), after looking again for a second (a record another ' +
      'replica is writing).',
  })
  @ApiServiceUnavailableResponse({
    description:
      'UNAVAILABLE: PostgreSQL could not serve the lookup now (unreachable, a table locked past the statement ' +
      'timeout), or the replay check of a Standard Webhooks signature (Redis) cannot be reached; OVERLOADED: the ' +
      'replica is too busy, or too many basic-auth password checks are running at once. Retry after Retry-After.',
  })
  async find(@Param('id') id: string, @CurrentCaller() caller: Caller, @Res() response: Response): Promise<void> {
    const found = await this.results.find(id, caller.id);
    if (!found) throw new AppError('NOT_FOUND', 'No fulfillment with this id for this caller.');
    const finished = found.status === 'completed' || found.status === 'failed';
    if (!finished) response.setHeader('Retry-After', '1');
    sendJson(
      response,
      200,
      JSON.stringify({
        id: found.id,
        status: found.status,
        platform: found.platform,
        sessionId: found.sessionId,
        intent: found.intent,
        createdAt: found.createdAt.toISOString(),
        completedAt: found.completedAt?.toISOString() ?? null,
        result: found.result,
      }),
    );
  }
}
