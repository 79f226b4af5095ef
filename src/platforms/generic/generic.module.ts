import { Module } from '@nestjs/common';
import { WebhookRunnerModule } from '../webhook-runner.module';
import { GenericAdapter } from './generic.adapter';
import { GenericController } from './generic.controller';

/** The generic platform: its adapter and its webhook route. */
@Module({ imports: [WebhookRunnerModule], controllers: [GenericController], providers: [GenericAdapter] })
export class GenericModule {}
