import { Module } from '@nestjs/common';
import { DialogflowEsController } from './dialogflow-es/dialogflow-es.controller';
import { DialogflowEsWebhook } from './dialogflow-es/dialogflow-es.webhook';

const controllers = [DialogflowEsController];
const webhooks = [DialogflowEsWebhook];

@Module({ controllers, providers: [...webhooks] })
export class PlatformsModule {}
