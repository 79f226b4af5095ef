import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../../../fulfillment';
import { CommerceRepository } from '../commerce.repository';
import { COMMERCE_SOURCE, productReference } from '../commerce-parameters';

/** "Do you have the X200 headphones in stock?" — parameter `sku` or `product`. */
@IntentHandler('CheckInventory')
export class CheckInventoryHandler implements FulfillmentHandler {
  constructor(private readonly commerce: CommerceRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const reference = productReference(request.parameters);
    if (!reference) return { text: 'Which product are you looking for?', elicit: { parameter: 'product' } };
    const product = await this.commerce.findProduct(reference);
    if (!product) return { text: `I couldn't find a product called "${reference}".`, source: COMMERCE_SOURCE };
    const stock = await this.commerce.stock(product.id);
    const total = stock.reduce((sum, s) => sum + s.quantity, 0);
    if (total === 0)
      return { text: `${product.name} (${product.sku}) is out of stock everywhere.`, source: COMMERCE_SOURCE };
    const where = stock
      .filter((s) => s.quantity > 0)
      .map((s) => `${s.quantity} in ${s.warehouse.name}`)
      .join(', ');
    return {
      text: `${product.name} (${product.sku}): ${total} in stock — ${where}.`,
      sessionParameters: { sku: product.sku },
      source: COMMERCE_SOURCE,
    };
  }
}
