import { Module } from '@nestjs/common';
import { ReadThroughCache } from './read-through-cache';

/** The read-through cache (one per process, whichever domain modules import it). */
@Module({ providers: [ReadThroughCache], exports: [ReadThroughCache] })
export class CacheModule {}
