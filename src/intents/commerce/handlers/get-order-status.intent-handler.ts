import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  translator,
} from '../../../fulfillment';
import { customerNumberFrom } from '../../banking/banking-parameters';
import { CommerceRepository } from '../commerce.repository';
import { COMMERCE_SOURCE, orderNumber } from '../commerce-parameters';
import { COMMERCE_MESSAGES } from '../commerce.messages';

const STATUS_MESSAGE = {
  processing: 'orderProcessing',
  shipped: 'orderShipped',
  delivered: 'orderDelivered',
  cancelled: 'orderCancelled',
} as const;

/** "Where is my order ORD-10042?" — parameters `order_id` and `user_id` (the order must be this customer's). */
@IntentHandler('GetOrderStatus')
export class GetOrderStatusHandler implements FulfillmentHandler {
  constructor(private readonly commerce: CommerceRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const t = translator(COMMERCE_MESSAGES, request.languageCode);
    const customer = customerNumberFrom(request.parameters);
    if (!customer) return { text: t('askCustomerNumber'), elicit: { parameter: 'user_id' } };
    const number = orderNumber(request.parameters.order_id);
    if (!number) return { text: t('askOrderNumber'), elicit: { parameter: 'order_id' } };
    const order = await this.commerce.findOrder(number, customer);
    if (!order) return { text: t('orderNotFound', { number }), source: COMMERCE_SOURCE };
    // The order system writes statuses of its own too (returned, on_hold): shown as stored, not as an apology.
    const known = Object.hasOwn(STATUS_MESSAGE, order.status) ? STATUS_MESSAGE[order.status] : undefined;
    const status = known
      ? t(known, { number: order.orderNumber })
      : t('orderOtherStatus', { number: order.orderNumber, status: String(order.status) });
    const tracking = order.trackingNumber ? ` ${t('trackingNumber', { tracking: order.trackingNumber })}` : '';
    return { text: `${status}${tracking}`, source: COMMERCE_SOURCE };
  }
}
