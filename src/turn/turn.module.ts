import { Module } from '@nestjs/common';
import { TurnPipeline } from './turn-pipeline';

/** The turn pipeline: degraded mode, idempotency, dispatch, deferral and async hand-off. */
@Module({ providers: [TurnPipeline], exports: [TurnPipeline] })
export class TurnModule {}
