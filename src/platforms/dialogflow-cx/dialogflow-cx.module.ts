import { Module } from '@nestjs/common';

/** The dialogflow-cx adapter: its controller and webhook service. */
@Module({})
export class DialogflowCxModule {}
