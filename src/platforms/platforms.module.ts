import { Module } from '@nestjs/common';
import { DialogflowCxModule } from './dialogflow-cx/dialogflow-cx.module';
import { DialogflowEsController } from './dialogflow-es/dialogflow-es.controller';
import { DialogflowEsWebhook } from './dialogflow-es/dialogflow-es.webhook';
import { GenericModule } from './generic/generic.module';
import { LexV2Module } from './lex-v2/lex-v2.module';
import { RasaModule } from './rasa/rasa.module';
import { TurnPipelineModule } from './turn-pipeline.module';

const controllers = [DialogflowEsController];
const webhooks = [DialogflowEsWebhook];
const adapters = [TurnPipelineModule, DialogflowCxModule, LexV2Module, RasaModule, GenericModule];

/** Exports every platform's webhook service, so other transports (gRPC) answer exactly as the HTTP routes do. */
@Module({ imports: [...adapters], controllers, providers: [...webhooks], exports: [...adapters, ...webhooks] })
export class PlatformsModule {}
