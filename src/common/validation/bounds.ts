/**
 * Upper bounds for the request fields the service reads, so no handler, log line or stored record meets a
 * string or list far larger than any platform sends. Where a platform documents a limit the bound leaves
 * room above it (platforms raise limits without notice); where none is documented it is a generous cap.
 * The whole body is capped apart from these by BODY_LIMIT_BYTES.
 */

/** Ids a platform or caller generates (response, message, request ids): UUID-sized in practice. */
export const ID_MAX_LENGTH = 512;

/** Names from a bot's definition: intents, actions, fulfillment tags, form parameters, entities. */
export const NAME_MAX_LENGTH = 512;

/** Resource names with their project path (Dialogflow contexts and pages): a session name plus a suffix. */
export const RESOURCE_NAME_MAX_LENGTH = 1024;

/** BCP 47 language tags: RFC 5646 section 4.4.1 asks for at least 35 characters to be supported. */
export const LANGUAGE_TAG_MAX_LENGTH = 35;

/** A BCP-47-like language tag: `en`, `de-DE`, `pt_BR`, `zh-Hant-TW`. */
export const LANGUAGE_TAG = /^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$/;

/**
 * `value` when it is a language tag of at most LANGUAGE_TAG_MAX_LENGTH characters (surrounding spaces dropped),
 * else undefined: for tags read from where a platform leaves the shape open (a channel's metadata, CX's
 * languageInfo), which go into logs, stored jobs and formatter caches.
 */
export function languageTagOf(value: unknown): string | undefined {
  const tag = typeof value === 'string' ? value.trim() : '';
  return tag.length <= LANGUAGE_TAG_MAX_LENGTH && LANGUAGE_TAG.test(tag) ? tag : undefined;
}

/** What the user said or typed, where the platform documents no limit (Rasa, the generic format). */
export const FREE_TEXT_MAX_LENGTH = 16_384;

/** Lists of contexts, form parameters or entities in one turn, where the platform documents no limit. */
export const LIST_MAX_ITEMS = 100;
