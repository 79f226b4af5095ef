import { Module } from '@nestjs/common';
import { TurnModule } from '../turn/turn.module';
import { DialogflowCxModule } from './dialogflow-cx/dialogflow-cx.module';
import { DialogflowEsModule } from './dialogflow-es/dialogflow-es.module';
import { GenericModule } from './generic/generic.module';
import { LexV2Module } from './lex-v2/lex-v2.module';
import { RasaModule } from './rasa/rasa.module';
import { FulfillmentsController } from './fulfillments.controller';
import { WebhookRunnerModule } from './webhook-runner.module';

/** One module per platform folder; adding a platform adds its module here (and its name to PLATFORMS). */
const platforms = [DialogflowEsModule, DialogflowCxModule, LexV2Module, RasaModule, GenericModule];

/**
 * Every platform's webhook route, polling for the results of late and async work (a caller route like the
 * webhooks, under the same guards), and the runner other transports (gRPC) answer webhooks with.
 */
@Module({
  imports: [WebhookRunnerModule, TurnModule, ...platforms],
  controllers: [FulfillmentsController],
  exports: [WebhookRunnerModule],
})
export class PlatformsModule {}
