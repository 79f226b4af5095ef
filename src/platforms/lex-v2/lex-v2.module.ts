import { Module } from '@nestjs/common';

/** The lex-v2 adapter: its controller and webhook service. */
@Module({})
export class LexV2Module {}
