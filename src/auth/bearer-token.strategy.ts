import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { CallerRegistry, RegisteredCaller } from './callers/caller-registry';

const BEARER = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i;

/** Resolves a caller from `Authorization: Bearer <token>`; undefined when absent or unknown. */
@Injectable()
export class BearerTokenStrategy {
  constructor(private readonly callers: CallerRegistry) {}

  authenticate(headers: IncomingHttpHeaders): RegisteredCaller | undefined {
    const match = BEARER.exec(headers.authorization ?? '');
    return match ? this.callers.findByBearerToken(match[1]) : undefined;
  }
}
