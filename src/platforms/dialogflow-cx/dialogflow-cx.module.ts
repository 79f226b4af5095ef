import { Module } from '@nestjs/common';
import { WebhookRunnerModule } from '../webhook-runner.module';
import { DialogflowCxAdapter } from './dialogflow-cx.adapter';
import { DialogflowCxController } from './dialogflow-cx.controller';

/** The dialogflow-cx platform: its adapter and its webhook route. */
@Module({ imports: [WebhookRunnerModule], controllers: [DialogflowCxController], providers: [DialogflowCxAdapter] })
export class DialogflowCxModule {}
