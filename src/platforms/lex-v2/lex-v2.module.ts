import { Module } from '@nestjs/common';
import { LexV2Controller } from './lex-v2.controller';
import { LexV2Webhook } from './lex-v2.webhook';

/** The lex-v2 adapter: its controller and webhook service. */
@Module({ controllers: [LexV2Controller], providers: [LexV2Webhook], exports: [LexV2Webhook] })
export class LexV2Module {}
