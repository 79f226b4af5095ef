import { Module } from '@nestjs/common';
import { OutboundHttpClient } from './outbound-http.client';

/** The one `OutboundHttpClient` (and so the one keep-alive agent) for every module that imports this. */
@Module({ providers: [OutboundHttpClient], exports: [OutboundHttpClient] })
export class OutboundModule {}
