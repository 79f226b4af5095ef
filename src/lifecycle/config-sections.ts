import { CONSOLE_OPTIONS } from '../console/console.options';
import type { ConfigSection } from '../config';
import { INTENT_OPTIONS } from '../intents/intent-options';

/** Every module's own settings, loaded and checked with the configuration (composition root only). */
export const CONFIG_SECTIONS: readonly ConfigSection[] = [...INTENT_OPTIONS, CONSOLE_OPTIONS];
