import { Global, Module } from '@nestjs/common';
import { TurnPipeline } from './turn-pipeline';

@Global()
@Module({ providers: [TurnPipeline], exports: [TurnPipeline] })
export class TurnPipelineModule {}
