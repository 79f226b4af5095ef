import { Module } from '@nestjs/common';
import { CommittedWrites } from '../committed-writes';
import { AppointmentsRepository } from './appointments.repository';
import { BookAppointmentHandler } from './handlers/book-appointment.intent-handler';
import { CancelAppointmentHandler } from './handlers/cancel-appointment.intent-handler';
import { FindAppointmentSlotsHandler } from './handlers/find-appointment-slots.intent-handler';
import { CacheModule } from '../../cache/cache.module';
import { DatabaseModule } from '../../database/database.module';

const repositories = [CommittedWrites, AppointmentsRepository];
const handlers = [FindAppointmentSlotsHandler, BookAppointmentHandler, CancelAppointmentHandler];

@Module({ imports: [DatabaseModule, CacheModule], providers: [...repositories, ...handlers] })
export class AppointmentsModule {}
