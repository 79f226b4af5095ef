import { Module } from '@nestjs/common';
import { WebhookRunnerModule } from '../webhook-runner.module';
import { DialogflowEsAdapter } from './dialogflow-es.adapter';
import { DialogflowEsController } from './dialogflow-es.controller';

/** The dialogflow-es platform: its adapter and its webhook route. */
@Module({ imports: [WebhookRunnerModule], controllers: [DialogflowEsController], providers: [DialogflowEsAdapter] })
export class DialogflowEsModule {}
