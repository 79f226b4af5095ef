import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Min,
  ValidateNested,
} from 'class-validator';
import { MaxChars } from '../../common/validation/max-chars';
import { SESSION_ID_MAX_LENGTH } from '../../common/limits';
import {
  FREE_TEXT_MAX_LENGTH,
  LANGUAGE_TAG,
  LANGUAGE_TAG_MAX_LENGTH,
  LIST_MAX_ITEMS,
  NAME_MAX_LENGTH,
} from '../../common/validation/bounds';
import type { ConfirmationState, FulfillmentStage } from '../../fulfillment';
import { IsBoundedObject } from '../../common/validation/bounded-object';

/** Ids and names are text: a control character in one (a NUL PostgreSQL cannot store, a line break) is refused. */
const NO_CONTROL_CHARACTERS = /^\P{Cc}*$/u;

export const GENERIC_STAGES: readonly FulfillmentStage[] = ['dialog', 'fulfillment'];
export const GENERIC_CONFIRMATION_STATES: readonly ConfirmationState[] = ['confirmed', 'denied', 'none'];

/** Longest request id we accept, in the body or in the `Idempotency-Key` header. */
export const GENERIC_MAX_REQUEST_ID_LENGTH = 255;

export class GenericContext {
  @ApiProperty({ description: 'Short context name.', example: 'account-info', maxLength: 250 })
  @IsString()
  @IsNotEmpty()
  @MaxChars(250)
  name!: string;

  @ApiPropertyOptional({ description: 'Turns the context stays active.', minimum: 0, type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(0)
  lifespan?: number;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Values carried by the context.' })
  @IsOptional()
  @IsBoundedObject()
  parameters?: Record<string, unknown>;
}

/**
 * Body of a call to the generic webhook: our own documented format for custom bots.
 * Unknown fields are tolerated (and ignored) so that clients can evolve without breaking.
 */
export class GenericWebhookRequest {
  @ApiPropertyOptional({
    description:
      'Your id for this turn, echoed in the response. Falls back to the `Idempotency-Key` header, else a generated UUID.',
    maxLength: GENERIC_MAX_REQUEST_ID_LENGTH,
    example: '4a7c1f0e-8a53-4f6b-9b8e-2f1d6a0c9e11',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxChars(GENERIC_MAX_REQUEST_ID_LENGTH)
  // An idempotency key like the header's: visible text, no control characters, not blank.
  @Matches(/^(?!\s*$)\P{Cc}+$/u, {
    message: 'requestId must be visible text without control characters',
  })
  requestId?: string;

  @ApiProperty({ description: 'Identifies the conversation.', example: 'session-42', maxLength: SESSION_ID_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxChars(SESSION_ID_MAX_LENGTH)
  @Matches(NO_CONTROL_CHARACTERS, { message: 'sessionId must be text without control characters' })
  sessionId!: string;

  @ApiProperty({ description: 'The intent to fulfil.', example: 'GetAccountBalance', maxLength: NAME_MAX_LENGTH })
  @IsString()
  @IsNotEmpty()
  @MaxChars(NAME_MAX_LENGTH)
  @Matches(NO_CONTROL_CHARACTERS, { message: 'intent must be text without control characters' })
  intent!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'The intent parameters (slots).',
    example: { user_id: '12345', account_type: 'checking' },
  })
  @IsOptional()
  @IsBoundedObject()
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Values kept for the whole session, as your bot stores them.',
  })
  @IsOptional()
  @IsBoundedObject()
  sessionParameters?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'BCP-47 language tag of the user turn.',
    default: 'en',
    example: 'en-US',
    maxLength: LANGUAGE_TAG_MAX_LENGTH,
  })
  @IsOptional()
  @IsString()
  @MaxChars(LANGUAGE_TAG_MAX_LENGTH)
  @Matches(LANGUAGE_TAG, { message: '$property must be a language tag such as en or de-DE' })
  languageCode?: string;

  @ApiPropertyOptional({
    description: 'What the user said or typed.',
    example: 'What is my balance?',
    maxLength: FREE_TEXT_MAX_LENGTH,
  })
  @IsOptional()
  @IsString()
  @MaxChars(FREE_TEXT_MAX_LENGTH)
  text?: string;

  @ApiPropertyOptional({
    enum: [...GENERIC_STAGES],
    default: 'fulfillment',
    description: '`dialog` while your bot is still collecting slots, `fulfillment` once the intent is complete.',
  })
  @IsOptional()
  @IsIn(GENERIC_STAGES)
  stage?: FulfillmentStage;

  @ApiPropertyOptional({
    enum: [...GENERIC_CONFIRMATION_STATES],
    default: 'none',
    description: "The user's answer to a confirmation prompt.",
  })
  @IsOptional()
  @IsIn(GENERIC_CONFIRMATION_STATES)
  confirmation?: ConfirmationState;

  @ApiPropertyOptional({
    type: [GenericContext],
    description: 'Active conversation contexts.',
    maxItems: LIST_MAX_ITEMS,
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(LIST_MAX_ITEMS)
  // class-validator recurses into an array inside the array ([[…]]) and passes it: each item must be an object.
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => GenericContext)
  contexts?: GenericContext[];
}
