import type { DialogflowCxParameterState } from './dialogflow-cx.request';

/** A `ResponseMessage`, as far as we produce it (exactly one field is set). */
export interface DialogflowCxMessage {
  text?: { text: string[] };
  payload?: Record<string, unknown>;
  conversationSuccess?: { metadata?: Record<string, unknown> };
  liveAgentHandoff?: { metadata?: Record<string, unknown> };
}

export type DialogflowCxMergeBehavior = 'APPEND' | 'REPLACE';

export interface DialogflowCxResponseParameterInfo {
  displayName: string;
  required?: boolean;
  state: DialogflowCxParameterState;
  value?: unknown;
}

/** The documented Dialogflow CX v3 `WebhookResponse`, as far as we produce it. */
export interface DialogflowCxWebhookResponse {
  fulfillmentResponse?: { messages?: DialogflowCxMessage[]; mergeBehavior?: DialogflowCxMergeBehavior };
  pageInfo?: { formInfo: { parameterInfo: DialogflowCxResponseParameterInfo[] } };
  /** Only the parameters to change; a `null` value removes the parameter from the session. */
  sessionInfo?: { parameters: Record<string, unknown> };
  payload?: Record<string, unknown>;
  // Mutually exclusive.
  targetPage?: string;
  targetFlow?: string;
}

/** Dialogflow CX rejects webhook responses larger than this. */
export const DIALOGFLOW_CX_MAX_RESPONSE_BYTES = 64 * 1024;

/** Dialogflow Messenger's rich-content elements we render (`payload.richContent`). */
export interface RichContentChip {
  text: string;
  anchor?: { href: string };
}

export type RichContentElement =
  | { type: 'chips'; options: RichContentChip[] }
  | {
      type: 'info';
      title: string;
      subtitle?: string;
      image?: { rawUrl: string };
    }
  | { type: 'image'; rawUrl: string; accessibilityText?: string };
