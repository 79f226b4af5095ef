import type { LexV2ConfirmationState, LexV2DialogActionType, LexV2IntentState, LexV2Slots } from './lex-v2.request';

/** The documented Amazon Lex V2 Lambda response, as far as we produce it. */
export interface LexV2Button {
  text: string;
  value: string;
}

export interface LexV2ImageResponseCard {
  title: string;
  subtitle?: string;
  imageUrl?: string;
  buttons?: LexV2Button[];
}

export type LexV2ContentType = 'PlainText' | 'SSML' | 'CustomPayload' | 'ImageResponseCard';

export interface LexV2Message {
  contentType: LexV2ContentType;
  content?: string;
  imageResponseCard?: LexV2ImageResponseCard;
}

export interface LexV2ResponseContext {
  name: string;
  contextAttributes: Record<string, string>;
  timeToLive: { timeToLiveInSeconds: number; turnsToLive: number };
}

export interface LexV2ResponseIntent {
  name: string;
  slots?: LexV2Slots;
  state: LexV2IntentState;
  confirmationState?: LexV2ConfirmationState;
}

/** The sub-slot of a composite slot to ask for (`dialogAction.subSlotToElicit`), nested for deeper sub-slots. */
export interface LexV2ElicitSubSlot {
  name: string;
  subSlotToElicit?: LexV2ElicitSubSlot;
}

export interface LexV2Response {
  sessionState: {
    sessionAttributes: Record<string, string>;
    activeContexts?: LexV2ResponseContext[];
    dialogAction: { type: LexV2DialogActionType; slotToElicit?: string; subSlotToElicit?: LexV2ElicitSubSlot };
    /** Left out with ElicitIntent (a fulfillment past its deadline): Lex recognises the next utterance afresh. */
    intent?: LexV2ResponseIntent;
  };
  messages?: LexV2Message[];
  requestAttributes?: Record<string, string>;
}

/**
 * Lex limits (Amazon Lex developer guide, "Quotas": a Lambda function's output may be at most 25 KB, of which
 * 12 KB session attributes; the V2 API reference: message content 1–1000 characters, at most 10 messages, cards
 * with a 1–250 character title/subtitle/imageUrl and at most 5 buttons of 1–50 characters text and value; an
 * active context lives 5–86400 seconds and 1–20 turns).
 */
export const LEX_V2_LIMITS = {
  responseBytes: 25 * 1024,
  attributesBytes: 12 * 1024,
  messages: 10,
  contentChars: 1000,
  cardFieldChars: 250,
  buttons: 5,
  buttonChars: 50,
  contextTurns: 20,
  /** ActiveContext.contextAttributes: at most 10 entries, keys of 1–100 characters, values of 1–1024. */
  contextAttributes: 10,
  attributeKeyChars: 100,
  attributeValueChars: 1024,
  contextMinSeconds: 5,
  contextSeconds: 86_400,
} as const;
