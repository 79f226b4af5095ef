import { Module } from '@nestjs/common';
import { WebhookRunnerModule } from '../webhook-runner.module';
import { LexV2Adapter } from './lex-v2.adapter';
import { LexV2Controller } from './lex-v2.controller';

/** The lex-v2 platform: its adapter and its webhook route. */
@Module({ imports: [WebhookRunnerModule], controllers: [LexV2Controller], providers: [LexV2Adapter] })
export class LexV2Module {}
