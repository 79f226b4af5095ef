import type { ExampleObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import type { Platform } from '../common/platform';
import type { RasaSdkController } from '../platforms/rasa/rasa-sdk.controller';
import type { RasaErrorBody } from '../platforms/rasa/rasa.response';

/** An error status a platform's webhook answers with a body in the platform's own format. */
export interface OwnErrorAnswer {
  /** The whole story of the status on that route (the usual error body's causes too, where they remain). */
  readonly description: string;
  /** components.schemas name of the platform's body. */
  readonly schema: string;
  readonly examples: Readonly<Record<string, ExampleObject>>;
  /** Error codes the platform answers in its own body instead of ErrorResponse: their examples are left out. */
  readonly replaces?: readonly string[];
}

export interface PlatformAnswers {
  readonly schemas: Readonly<Record<string, SchemaObject>>;
  readonly errors: Readonly<Record<number, OwnErrorAnswer>>;
}

const RASA_ERROR = 'RasaErrorResponse';

const rasaError = (example: RasaErrorBody) => example;

/**
 * Answers in a platform's own format on its webhook route (the adapter's `preflight` and `rejected`), beside or
 * instead of ErrorResponse.
 */
export const PLATFORM_ANSWERS: Readonly<Partial<Record<Platform, PlatformAnswers>>> = {
  rasa: {
    schemas: {
      [RASA_ERROR]: {
        type: 'object',
        description:
          "The Rasa SDK's error body (ActionNotFoundException, ActionExecutionRejection), which Rasa's RemoteAction " +
          'reads: it logs `error`; after a 400 its policies predict another action.',
        required: ['error'],
        properties: {
          error: { type: 'string' },
          action_name: { type: 'string', description: 'The `next_action` of the call, when it had a usable one.' },
        },
        additionalProperties: false,
      },
    },
    errors: {
      400: {
        description:
          "An invalid action call: the Rasa SDK's body, `error` naming each field. Malformed JSON, or a credential " +
          'sent twice (two Authorization headers): the usual error body.',
        schema: RASA_ERROR,
        replaces: ['VALIDATION_FAILED'],
        examples: {
          invalidActionCall: {
            summary: 'The call lacks its tracker',
            value: rasaError({
              error: 'Rasa action call is invalid: tracker is required.',
              action_name: 'action_get_account_balance',
            }),
          },
        },
      },
      404: {
        description: "No registered action has the name `next_action`: the Rasa SDK's body.",
        schema: RASA_ERROR,
        examples: {
          unknownAction: {
            summary: 'An action this server does not run',
            value: rasaError({
              error: "No registered action found for name 'action_nope'.",
              action_name: 'action_nope',
            }),
          },
        },
      },
    },
  },
};

/** The 200 answer of each Rasa SDK route besides the webhook (RasaSdkController), as the SDK gives it. */
export const RASA_SDK_ANSWERS: Readonly<Record<keyof RasaSdkController, ResponseObject>> = {
  health: {
    description: 'The action server is up.',
    content: {
      'application/json': {
        schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } },
        example: { status: 'ok' },
      },
    },
  },
  actions: {
    description: 'Every action this server runs (an action name that reaches a registered intent handler).',
    content: {
      'application/json': {
        schema: {
          type: 'array',
          items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        },
        example: [{ name: 'action_get_account_balance' }, { name: 'action_book_appointment' }],
      },
    },
  },
};
