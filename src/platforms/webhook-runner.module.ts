import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TurnModule } from '../turn/turn.module';
import { PlatformAdapters } from './platform-adapters';
import { WebhookReplyInterceptor } from './webhook-route.decorator';
import { WebhookRunner } from './webhook-runner';

/** What every platform's webhook route uses: the adapter registry, the runner and the reply interceptor. */
@Module({
  imports: [DiscoveryModule, TurnModule],
  providers: [PlatformAdapters, WebhookRunner, WebhookReplyInterceptor],
  exports: [PlatformAdapters, WebhookRunner, WebhookReplyInterceptor],
})
export class WebhookRunnerModule {}
