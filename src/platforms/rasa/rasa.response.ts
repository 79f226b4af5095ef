/** A `SlotSet` event; `value: null` resets the slot. */
export interface RasaSlotSetEvent {
  event: 'slot';
  name: string;
  value: unknown;
}

/** A `FollowupAction` event: Rasa runs this action next instead of predicting one. */
export interface RasaFollowupEvent {
  event: 'followup';
  name: string;
}

export type RasaEvent = RasaSlotSetEvent | RasaFollowupEvent;

export interface RasaButton {
  title: string;
  payload: string;
}

/** One bot message, in the shape `dispatcher.utter_message(...)` of the Rasa SDK produces (without empty keys). */
export interface RasaResponseMessage {
  text?: string;
  buttons?: RasaButton[];
  image?: string;
  custom?: Record<string, unknown>;
}

/** Answer to a successful action call. */
export interface RasaActionResponse {
  events: RasaEvent[];
  responses: RasaResponseMessage[];
}

/**
 * The Rasa SDK's error body: `ActionNotFoundException` (404) and `ActionExecutionRejection` (400) both carry
 * the action name; Rasa logs `error` and, for a 400, lets its policies predict another action.
 */
export interface RasaErrorBody {
  error: string;
  action_name?: string;
}
