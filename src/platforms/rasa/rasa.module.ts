import { Module } from '@nestjs/common';
import { WebhookRunnerModule } from '../webhook-runner.module';
import { RasaAdapter } from './rasa.adapter';
import { RasaController } from './rasa.controller';
import { RasaSdkController } from './rasa-sdk.controller';

/** The rasa platform: its adapter, its webhook route and the Rasa SDK's other routes. */
@Module({
  imports: [WebhookRunnerModule],
  controllers: [RasaController, RasaSdkController],
  providers: [RasaAdapter],
})
export class RasaModule {}
