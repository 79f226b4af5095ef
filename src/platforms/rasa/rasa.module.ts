import { Module } from '@nestjs/common';

/** The rasa adapter: its controller and webhook service. */
@Module({})
export class RasaModule {}
