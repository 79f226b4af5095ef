/**
 * Every entity class of the application, so that its data source knows each table as the migration commands do
 * (they find the same classes by file name): app.module.ts imports this file, and the database module registers the
 * entities that loaded modules declared. declared-entities.spec.ts fails when an entity file is missing here.
 */
export { CallbackDelivery, DisabledCallback } from '../async/callback-delivery.entity';
export { FulfillmentRecord } from '../async/fulfillment-record.entity';
export { AuditEvent } from '../audit/audit-event.entity';
export { ReplayEntry } from '../auth/replay/replay-entry.entity';
export { CaptureRule } from '../console/capture/capture-rule.entity';
export { RevokedSession } from '../console/sessions/revoked-session.entity';
export { TurnCapture } from '../console/turn-log/turn-capture.entity';
export { TurnLogEntry } from '../console/turn-log/turn-log-entry.entity';
export { TurnLogRollup } from '../console/turn-log/turn-log-rollup.entity';
export { IdempotencyRecord } from '../idempotency/idempotency-record.entity';
export { AppointmentSlot } from '../intents/appointments/entities/appointment-slot.entity';
export { Appointment } from '../intents/appointments/entities/appointment.entity';
export { Provider } from '../intents/appointments/entities/provider.entity';
export { Account } from '../intents/banking/entities/account.entity';
export { Customer } from '../intents/banking/entities/customer.entity';
export { Statement } from '../intents/banking/entities/statement.entity';
export { Transaction } from '../intents/banking/entities/transaction.entity';
export { Transfer } from '../intents/banking/entities/transfer.entity';
export { Order } from '../intents/commerce/entities/order.entity';
export { Product } from '../intents/commerce/entities/product.entity';
export { StockLevel } from '../intents/commerce/entities/stock-level.entity';
export { Warehouse } from '../intents/commerce/entities/warehouse.entity';
export { Lead } from '../intents/crm/lead.entity';
