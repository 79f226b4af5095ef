import { AppConfig } from '../config';
import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  PENDING_FULFILLMENT_PARAMETER,
  translator,
  operatorText,
} from '../fulfillment';
import type { Catalogue } from '../fulfillment';
import { FulfillmentResults } from './fulfillment-results';

export const PENDING_FULFILLMENT_MESSAGES = {
  nothingInProgress: {
    en: "I don't have anything in progress for you right now.",
    de: 'Im Moment bearbeite ich nichts für Sie.',
    es: 'Ahora mismo no tengo nada en curso para usted.',
    fr: 'Je n’ai rien en cours pour vous pour le moment.',
  },
} as const satisfies Catalogue;

/** Leaves room to render and send before the platform's own deadline. */
const RENDER_MARGIN_MS = 150;

function pendingIdOf(request: FulfillmentRequest): string | undefined {
  const value =
    request.parameters[PENDING_FULFILLMENT_PARAMETER] ?? request.sessionParameters[PENDING_FULFILLMENT_PARAMETER];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The turn that fetches a result that was still being worked on: the Dialogflow ES follow-up event
 * (PENDING_FOLLOWUP_EVENT), or an intent such as "any news?" routed here by CX, Lex, Rasa or a custom bot.
 * It waits for the result within its own budget and answers with it, clearing the pending marker.
 */
@IntentHandler('PendingFulfillment', { stages: ['dialog', 'fulfillment'] })
export class PendingFulfillmentHandler implements FulfillmentHandler {
  constructor(
    private readonly results: FulfillmentResults,
    private readonly config: AppConfig,
  ) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const id = pendingIdOf(request);
    const nothing: FulfillmentResult = {
      text: translator(PENDING_FULFILLMENT_MESSAGES, request.languageCode)('nothingInProgress'),
      sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: null },
    };
    if (!id) return nothing;
    const until = request.deadline.getTime() - RENDER_MARGIN_MS;
    // An id not found yet is looked for until the turn must answer: the ids come from our own replies, and the
    // record may be on its way (late work is recorded after its reply; an async turn answered "still working" while
    // its queueing waited on another replica commits later). "Nothing in progress" before then clears the id, and
    // the work runs unannounced.
    const found = await this.results.waitFor(id, request.caller.id, until, request.signal, Infinity);
    if (!found || found.sessionId !== request.sessionId) return nothing;
    if ((found.status === 'completed' || found.status === 'failed') && found.result) {
      return {
        ...found.result,
        // Work recorded as abandoned by the retention job, which knows no turn's language, has the English default.
        ...(found.status === 'failed' && { text: operatorText(found.result.text, request.languageCode) }),
        sessionParameters: { ...found.result.sessionParameters, [PENDING_FULFILLMENT_PARAMETER]: null },
      };
    }
    return {
      text: operatorText(this.config.fulfillment.interimText, request.languageCode),
      sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: id },
    };
  }
}
