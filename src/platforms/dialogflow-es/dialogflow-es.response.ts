/** The documented Dialogflow ES v2 `WebhookResponse`, as far as we produce it. */
export interface DialogflowEsMessage {
  text?: { text: string[] };
  quickReplies?: { title?: string; quickReplies: string[] };
  card?: { title: string; subtitle?: string; imageUri?: string; buttons?: { text: string; postback?: string }[] };
  image?: { imageUri: string; accessibilityText?: string };
  payload?: Record<string, unknown>;
}

export interface DialogflowEsOutputContext {
  name: string;
  lifespanCount: number;
  parameters?: Record<string, unknown>;
}

export interface DialogflowEsWebhookResponse {
  fulfillmentText?: string;
  fulfillmentMessages?: DialogflowEsMessage[];
  source?: string;
  payload?: Record<string, unknown>;
  outputContexts?: DialogflowEsOutputContext[];
  followupEventInput?: { name: string; languageCode?: string; parameters?: Record<string, unknown> };
}

/** Dialogflow rejects webhook responses larger than this. */
export const DIALOGFLOW_ES_MAX_RESPONSE_BYTES = 64 * 1024;
