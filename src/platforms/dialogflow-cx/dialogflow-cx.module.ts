import { Module } from '@nestjs/common';
import { DialogflowCxController } from './dialogflow-cx.controller';
import { DialogflowCxWebhook } from './dialogflow-cx.webhook';

/** The dialogflow-cx adapter: its controller and webhook service. */
@Module({ controllers: [DialogflowCxController], providers: [DialogflowCxWebhook], exports: [DialogflowCxWebhook] })
export class DialogflowCxModule {}
