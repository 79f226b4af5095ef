import { Module } from '@nestjs/common';
import { GenericController } from './generic.controller';
import { GenericWebhook } from './generic.webhook';

/** The generic adapter: its controller and webhook service. */
@Module({ controllers: [GenericController], providers: [GenericWebhook], exports: [GenericWebhook] })
export class GenericModule {}
