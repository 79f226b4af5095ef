import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import type {
  ContextUpdate,
  DispatchOutcome,
  ElicitParameter,
  FollowupEvent,
  Handoff,
  RichMessage,
  Transition,
} from '../../fulfillment';

/** We refuse to send a generic response larger than this (UTF-8 bytes of the JSON body). */
export const GENERIC_MAX_RESPONSE_BYTES = 256 * 1024;

export const GENERIC_OUTCOMES: readonly DispatchOutcome[] = [
  'fulfilled',
  'fallback',
  'failed',
  'timed-out',
  'delegated',
];

/**
 * The generic webhook response: the handler's `FulfillmentResult` with nothing left out, plus the turn's
 * `requestId` and the dispatcher's `outcome`. Optional fields are absent (never null) when not set.
 */
export interface GenericWebhookResponse {
  requestId: string;
  outcome: DispatchOutcome;
  text: string;
  messages: RichMessage[];
  contexts?: ContextUpdate[];
  sessionParameters?: Record<string, unknown>;
  elicit?: ElicitParameter;
  confirm?: boolean;
  handoff?: Handoff;
  delegate?: boolean;
  failed?: boolean;
  endConversation?: boolean;
  followupEvent?: FollowupEvent;
  payload?: Record<string, unknown>;
  transition?: Transition;
  source?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAPI schemas of the response. Only the document uses these classes; the adapter builds plain objects typed
// by the interface above (generic.adapter.spec.ts checks both list the same fields).
// ---------------------------------------------------------------------------------------------------------------

export class GenericTextMessage {
  @ApiProperty({ enum: ['text'] })
  type!: 'text';

  @ApiProperty()
  text!: string;
}

export class GenericQuickRepliesMessage {
  @ApiProperty({ enum: ['quick-replies'] })
  type!: 'quick-replies';

  @ApiPropertyOptional()
  title?: string;

  @ApiProperty({ type: [String] })
  replies!: string[];
}

export class GenericCardButton {
  @ApiProperty()
  text!: string;

  @ApiPropertyOptional({ description: 'Text sent back or URL opened when the button is pressed.' })
  postback?: string;
}

export class GenericCardMessage {
  @ApiProperty({ enum: ['card'] })
  type!: 'card';

  @ApiProperty()
  title!: string;

  @ApiPropertyOptional()
  subtitle?: string;

  @ApiPropertyOptional({ format: 'uri' })
  imageUrl?: string;

  @ApiPropertyOptional({ type: [GenericCardButton] })
  buttons?: GenericCardButton[];
}

export class GenericImageMessage {
  @ApiProperty({ enum: ['image'] })
  type!: 'image';

  @ApiProperty({ format: 'uri' })
  imageUrl!: string;

  @ApiPropertyOptional()
  accessibilityText?: string;
}

export class GenericPayloadMessage {
  @ApiProperty({ enum: ['payload'] })
  type!: 'payload';

  @ApiProperty({ type: 'object', additionalProperties: true })
  payload!: Record<string, unknown>;
}

export const GENERIC_MESSAGE_SCHEMAS = [
  GenericTextMessage,
  GenericQuickRepliesMessage,
  GenericCardMessage,
  GenericImageMessage,
  GenericPayloadMessage,
];

export class GenericContextUpdate {
  @ApiProperty({ description: 'Short context name.' })
  name!: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Turns the context stays active; 0 removes it.' })
  lifespan!: number;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  parameters?: Record<string, unknown>;
}

export class GenericElicit {
  @ApiProperty({ description: 'The parameter (slot) to ask for; `text` is the prompt.' })
  parameter!: string;

  @ApiPropertyOptional({ description: 'The value the user gave was rejected.' })
  invalid?: boolean;
}

export class GenericHandoff {
  @ApiPropertyOptional()
  reason?: string;
}

export class GenericFollowupEvent {
  @ApiProperty()
  name!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional()
  languageCode?: string;
}

export class GenericTransition {
  @ApiPropertyOptional()
  page?: string;

  @ApiPropertyOptional()
  flow?: string;
}

export class GenericWebhookResponseSchema {
  @ApiProperty({ description: 'The request id of the turn (body `requestId`, `Idempotency-Key`, or generated).' })
  requestId!: string;

  @ApiProperty({
    enum: [...GENERIC_OUTCOMES],
    description:
      '`fulfilled`: the handler answered. `fallback`: no handler for the intent. `failed`: the handler failed ' +
      '(or its answer could not be sent). `timed-out`: the handler outlived the deadline; `text` is an interim ' +
      'reply. `delegated`: the handler does not act at this stage; carry on with your own dialog management.',
  })
  outcome!: DispatchOutcome;

  @ApiProperty({ description: 'The main reply; may be empty when `delegate` is true.' })
  text!: string;

  @ApiProperty({
    description: 'Rich messages in order; a single text message with `text` when the handler gave none.',
    type: 'array',
    items: {
      oneOf: GENERIC_MESSAGE_SCHEMAS.map((schema) => ({ $ref: getSchemaPath(schema) })),
      discriminator: {
        propertyName: 'type',
        mapping: {
          text: getSchemaPath(GenericTextMessage),
          'quick-replies': getSchemaPath(GenericQuickRepliesMessage),
          card: getSchemaPath(GenericCardMessage),
          image: getSchemaPath(GenericImageMessage),
          payload: getSchemaPath(GenericPayloadMessage),
        },
      },
    },
  })
  messages!: unknown[];

  @ApiPropertyOptional({ type: [GenericContextUpdate], description: 'Contexts to set; lifespan 0 removes one.' })
  contexts?: GenericContextUpdate[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Session values to change: set each key to its value; a `null` value removes the key.',
  })
  sessionParameters?: Record<string, unknown>;

  @ApiPropertyOptional({ type: GenericElicit, description: 'Ask the user for this parameter; `text` is the prompt.' })
  elicit?: GenericElicit;

  @ApiPropertyOptional({ description: '`text` asks the user to confirm the intent (yes/no).' })
  confirm?: boolean;

  @ApiPropertyOptional({ type: GenericHandoff, description: 'Hand the conversation to a human agent.' })
  handoff?: GenericHandoff;

  @ApiPropertyOptional({ description: 'Go on with your own dialog management; `text` may be empty.' })
  delegate?: boolean;

  @ApiPropertyOptional({ description: 'The intent could not be completed.' })
  failed?: boolean;

  @ApiPropertyOptional({ description: 'The conversation is over.' })
  endConversation?: boolean;

  @ApiPropertyOptional({ type: GenericFollowupEvent, description: 'Trigger this event next.' })
  followupEvent?: GenericFollowupEvent;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Custom payload.' })
  payload?: Record<string, unknown>;

  @ApiPropertyOptional({ type: GenericTransition, description: 'Where the conversation goes next.' })
  transition?: GenericTransition;

  @ApiPropertyOptional({ description: 'The backend that produced the answer.' })
  source?: string;
}
