import { Module } from '@nestjs/common';
import { DialogflowCxModule } from './dialogflow-cx/dialogflow-cx.module';
import { DialogflowEsModule } from './dialogflow-es/dialogflow-es.module';
import { GenericModule } from './generic/generic.module';
import { LexV2Module } from './lex-v2/lex-v2.module';
import { RasaModule } from './rasa/rasa.module';
import { WebhookRunnerModule } from './webhook-runner.module';

/** One module per platform folder; adding a platform adds its module here (and its name to PLATFORMS). */
const platforms = [DialogflowEsModule, DialogflowCxModule, LexV2Module, RasaModule, GenericModule];

/** Every platform's webhook route, and the runner other transports (gRPC) answer webhooks with. */
@Module({ imports: [WebhookRunnerModule, ...platforms], exports: [WebhookRunnerModule] })
export class PlatformsModule {}
