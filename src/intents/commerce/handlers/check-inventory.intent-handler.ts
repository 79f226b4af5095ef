import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  translator,
} from '../../../fulfillment';
import { CommerceRepository } from '../commerce.repository';
import { COMMERCE_SOURCE, productReference } from '../commerce-parameters';
import { COMMERCE_MESSAGES } from '../commerce.messages';

/** "Do you have the X200 headphones in stock?" — parameter `sku` or `product`. */
@IntentHandler('CheckInventory')
export class CheckInventoryHandler implements FulfillmentHandler {
  constructor(private readonly commerce: CommerceRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const t = translator(COMMERCE_MESSAGES, request.languageCode);
    const reference = productReference(request.parameters);
    if (!reference) return { text: t('askProduct'), elicit: { parameter: 'product' } };
    const product = await this.commerce.findProduct(reference);
    if (!product) return { text: t('productNotFound', { reference }), source: COMMERCE_SOURCE };
    const stock = await this.commerce.stock(product.id);
    // A warehouse below zero (backorders) has nothing to send: it does not cancel what another one holds.
    const total = stock.reduce((sum, s) => sum + Math.max(s.quantity, 0), 0);
    if (total === 0) {
      return { text: t('outOfStockEverywhere', { product: product.name, sku: product.sku }), source: COMMERCE_SOURCE };
    }
    const where = stock
      .filter((s) => s.quantity > 0)
      .map((s) => t('stockAt', { quantity: s.quantity, warehouse: s.warehouse.name }))
      .join(', ');
    return {
      text: t('inStock', { product: product.name, sku: product.sku, total, where }),
      sessionParameters: { sku: product.sku },
      source: COMMERCE_SOURCE,
    };
  }
}
