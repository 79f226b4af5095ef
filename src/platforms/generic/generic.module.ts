import { Module } from '@nestjs/common';

/** The generic adapter: its controller and webhook service. */
@Module({})
export class GenericModule {}
