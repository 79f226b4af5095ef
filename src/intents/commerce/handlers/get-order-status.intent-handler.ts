import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../../../fulfillment';
import { customerNumberFrom } from '../../banking/banking-parameters';
import { CommerceRepository } from '../commerce.repository';
import { COMMERCE_SOURCE, orderNumber } from '../commerce-parameters';

const STATUS_TEXT = {
  processing: 'is being prepared',
  shipped: 'has shipped',
  delivered: 'was delivered',
  cancelled: 'was cancelled',
} as const;

/** "Where is my order ORD-10042?" — parameters `order_id` and `user_id` (the order must be this customer's). */
@IntentHandler('GetOrderStatus')
export class GetOrderStatusHandler implements FulfillmentHandler {
  constructor(private readonly commerce: CommerceRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const customer = customerNumberFrom(request.parameters);
    if (!customer) return { text: 'What is your customer number?', elicit: { parameter: 'user_id' } };
    const number = orderNumber(request.parameters.order_id);
    if (!number) return { text: 'What is the order number?', elicit: { parameter: 'order_id' } };
    const order = await this.commerce.findOrder(number, customer);
    if (!order) return { text: `I couldn't find order ${number} on your account.`, source: COMMERCE_SOURCE };
    const tracking = order.trackingNumber ? ` Tracking number: ${order.trackingNumber}.` : '';
    return { text: `Order ${order.orderNumber} ${STATUS_TEXT[order.status]}.${tracking}`, source: COMMERCE_SOURCE };
  }
}
