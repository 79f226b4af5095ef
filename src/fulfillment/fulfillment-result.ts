export interface TextMessage {
  readonly type: 'text';
  readonly text: string;
}

export interface QuickRepliesMessage {
  readonly type: 'quick-replies';
  readonly title?: string;
  readonly replies: readonly string[];
}

export interface CardMessage {
  readonly type: 'card';
  readonly title: string;
  readonly subtitle?: string;
  readonly imageUrl?: string;
  readonly buttons?: readonly { readonly text: string; readonly postback?: string }[];
}

export interface ImageMessage {
  readonly type: 'image';
  readonly imageUrl: string;
  readonly accessibilityText?: string;
}

export interface PayloadMessage {
  readonly type: 'payload';
  readonly payload: Readonly<Record<string, unknown>>;
}

export type RichMessage = TextMessage | QuickRepliesMessage | CardMessage | ImageMessage | PayloadMessage;

export interface ContextUpdate {
  /**
   * Short name; adapters qualify it for their platform. Lower case: Dialogflow ES lower-cases context names, so
   * its adapter refuses capitals (the next turn would bring the context back under another name).
   */
  readonly name: string;
  /** Turns the context stays active; 0 removes it. */
  readonly lifespan: number;
  readonly parameters?: Readonly<Record<string, unknown>>;
}

export interface FollowupEvent {
  readonly name: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly languageCode?: string;
}

/** Ask the user for one parameter (slot), e.g. because it is missing or the value given is not valid. */
export interface ElicitParameter {
  readonly parameter: string;
  /** The value the user gave was rejected (CX marks the form parameter INVALID and re-prompts). */
  readonly invalid?: boolean;
}

/** Send the conversation to a human agent. */
export interface Handoff {
  readonly reason?: string;
}

/** Dialogflow CX only: where the conversation goes next (a page or a flow, never both). */
export interface Transition {
  readonly page?: string;
  readonly flow?: string;
}

/** What a handler answers; adapters render it in the platform's own response format. */
export interface FulfillmentResult {
  /** The main reply, spoken or shown as-is. */
  readonly text: string;
  /** Rich messages; when absent the reply is a single text message with `text`. */
  readonly messages?: readonly RichMessage[];
  readonly contexts?: readonly ContextUpdate[];
  readonly followupEvent?: FollowupEvent;
  /** Platform-level custom payload. */
  readonly payload?: Readonly<Record<string, unknown>>;
  /** Names the backend that produced the answer (Dialogflow `source`). */
  readonly source?: string;
  readonly endConversation?: boolean;
  /** Session values to set; `null` removes one. */
  readonly sessionParameters?: Readonly<Record<string, unknown>>;
  /** `text` is the prompt for this parameter. */
  readonly elicit?: ElicitParameter;
  /** `text` asks the user to confirm the intent (yes/no). */
  readonly confirm?: boolean;
  readonly handoff?: Handoff;
  /** Let the platform go on with its own dialog management (Lex `Delegate`); `text` may be empty. */
  readonly delegate?: boolean;
  /** The intent could not be completed (Lex intent state `Failed`). */
  readonly failed?: boolean;
  readonly transition?: Transition;
}
