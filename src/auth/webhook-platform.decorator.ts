import { Reflector } from '@nestjs/core';
import type { Platform } from '../common/platform';

/** Names the platform a webhook route serves, so the guard can check the caller may call it. */
export const WebhookPlatform = Reflector.createDecorator<Platform>();
