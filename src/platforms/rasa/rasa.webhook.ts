import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { validateBody } from '../../common/validation/validate-body';
import { AppConfig } from '../../config';
import { Caller, FulfillmentResult, IntentHandlerRegistry } from '../../fulfillment';
import { TurnPipeline } from '../turn-pipeline';
import { RasaActionMap } from './rasa.actions';
import { renderResponse, slotStateOf, toDispatchInput } from './rasa.adapter';
import { RasaActionCall } from './rasa.request';
import type { RasaErrorBody } from './rasa.response';

/** A status and an already-serialised body: Rasa's error bodies are not our usual error format, on purpose. */
export interface RasaReply {
  status: number;
  json: string;
  replayed?: boolean;
}

const WHAT = 'Rasa action call';

function reply(status: number, body: unknown): RasaReply {
  return { status, json: JSON.stringify(body) };
}

/** The action name, if the body has a usable one (needed before validation, to answer 404 like the SDK). */
function actionNameOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const name = (body as { next_action?: unknown }).next_action;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function rejectionMessage(error: AppError): string {
  if (error.details.length === 0) return error.message;
  return `${WHAT} is invalid: ${error.details.map((detail) => `${detail.field} ${detail.problem}`).join('; ')}.`;
}

/**
 * One Rasa action server call, answered the way the Rasa SDK answers: the action runs the intent it maps to
 * (see `RasaActionMap`); an action we do not serve is a 404 and an invalid call a 400, both with the SDK's
 * `{error, action_name}` body, which Rasa's `RemoteAction` understands (it logs the error; on a 400 it lets
 * its policies predict another action).
 */
@Injectable()
export class RasaWebhook {
  private readonly logger = new Logger(RasaWebhook.name);
  private readonly actions: RasaActionMap;

  constructor(
    private readonly pipeline: TurnPipeline,
    private readonly registry: IntentHandlerRegistry,
    private readonly config: AppConfig,
  ) {
    this.actions = new RasaActionMap(config.fulfillment.rasaActions);
  }

  /** `budgetMs` is the time the handler gets; a transport whose caller set a shorter deadline (gRPC) passes its own. */
  async handle(
    body: unknown,
    caller: Caller,
    requestId: string,
    budgetMs = this.config.fulfillment.deadlinesMs.rasa,
  ): Promise<RasaReply> {
    const actionName = actionNameOf(body);
    const intent = actionName === undefined ? undefined : this.actions.intentFor(actionName);
    if (actionName !== undefined && (intent === undefined || !this.registry.find(intent))) {
      this.logger.warn(`No handler for Rasa action "${actionName}" (request ${requestId})`);
      const error: RasaErrorBody = {
        error: `No registered action found for name '${actionName}'.`,
        action_name: actionName,
      };
      return reply(404, error);
    }

    let call: RasaActionCall;
    try {
      call = validateBody(RasaActionCall, body, WHAT);
    } catch (error: unknown) {
      if (!(error instanceof AppError)) throw error;
      this.logger.warn(`Rejected a Rasa action call (request ${requestId}): ${error.message}`);
      const rejection: RasaErrorBody = { error: rejectionMessage(error) };
      if (actionName !== undefined) rejection.action_name = actionName;
      return reply(400, rejection);
    }

    const { errorText } = this.config.fulfillment;
    const input = toDispatchInput(call, intent ?? call.next_action, caller);
    const slots = slotStateOf(call);
    const render = (result: FulfillmentResult): RasaReply => {
      try {
        return reply(200, renderResponse(result, slots));
      } catch (error: unknown) {
        this.logger.error(
          `Response for Rasa action "${call.next_action}" could not be serialised (request ${requestId}): ` +
            (error instanceof Error ? error.message : String(error)),
        );
        return reply(200, renderResponse({ text: errorText }, slots));
      }
    };
    return this.pipeline.run({ input, body, budgetMs, render });
  }

  /** `GET /actions`: every action name that reaches a registered intent, as the SDK lists its actions. */
  actionList(): string {
    return JSON.stringify(this.actions.actionNames(this.registry.intents()).map((name) => ({ name })));
  }
}
