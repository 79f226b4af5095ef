import { Global, Module } from '@nestjs/common';
import { OutboundHttpClient } from './outbound-http.client';

/** Provides the one `OutboundHttpClient` (and so the one keep-alive agent) to every module. */
@Global()
@Module({ providers: [OutboundHttpClient], exports: [OutboundHttpClient] })
export class OutboundModule {}
