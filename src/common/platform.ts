import { Reflector } from '@nestjs/core';

/**
 * The chatbot platforms the service answers, one adapter each (src/platforms/<name>/). Adding one: its folder
 * (adapter, request DTO, controller, module) and its deadline setting (see the README).
 */
export const PLATFORMS = ['dialogflow-es', 'dialogflow-cx', 'lex-v2', 'rasa', 'generic'] as const;
export type Platform = (typeof PLATFORMS)[number];

export function isPlatform(value: unknown): value is Platform {
  return typeof value === 'string' && (PLATFORMS as readonly string[]).includes(value);
}

/** Names the platform a route serves, so the caller guard can check the caller may call it. */
export const WebhookPlatform = Reflector.createDecorator<Platform>();
