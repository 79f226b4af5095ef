import { Module } from '@nestjs/common';
import { WebhookRunnerModule } from '../webhook-runner.module';
import { RasaAdapter } from './rasa.adapter';
import { RasaController } from './rasa.controller';

/** The rasa platform: its adapter and its webhook route. */
@Module({ imports: [WebhookRunnerModule], controllers: [RasaController], providers: [RasaAdapter] })
export class RasaModule {}
