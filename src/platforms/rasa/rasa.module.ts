import { Module } from '@nestjs/common';
import { RasaController } from './rasa.controller';
import { RasaWebhook } from './rasa.webhook';

/** The rasa adapter: its controller and webhook service. */
@Module({ controllers: [RasaController], providers: [RasaWebhook], exports: [RasaWebhook] })
export class RasaModule {}
