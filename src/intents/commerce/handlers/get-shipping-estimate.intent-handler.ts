import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../../../fulfillment';
import { CarrierClient } from '../carrier.client';
import { CommerceRepository } from '../commerce.repository';
import { COMMERCE_SOURCE, postcode, productReference } from '../commerce-parameters';

/**
 * "How long would the X200 take to reach 10115?" — parameters `sku`/`product` and `postcode`. Asks the
 * carrier's API; when it is down, slow or answers nonsense the user hears so at once (circuit breaker).
 */
@IntentHandler('GetShippingEstimate')
export class GetShippingEstimateHandler implements FulfillmentHandler {
  constructor(
    private readonly commerce: CommerceRepository,
    private readonly carrier: CarrierClient,
  ) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const reference = productReference({ ...request.sessionParameters, ...request.parameters });
    if (!reference) return { text: 'Which product should I check shipping for?', elicit: { parameter: 'product' } };
    const destination = postcode(request.parameters.postcode);
    if (!destination) return { text: 'What is the delivery postcode?', elicit: { parameter: 'postcode' } };
    const product = await this.commerce.findProduct(reference);
    if (!product) return { text: `I couldn't find a product called "${reference}".`, source: COMMERCE_SOURCE };
    const warehouse = await this.commerce.shipsFrom(product.id);
    if (!warehouse)
      return { text: `${product.name} is out of stock, so I can't estimate shipping yet.`, source: COMMERCE_SOURCE };

    const outcome = await this.carrier.estimate(warehouse.postcode, destination, product.weightGrams, request.signal);
    if (!outcome.ok) {
      return {
        text: "I can't reach our shipping partner right now. Please ask me again in a few minutes.",
        source: COMMERCE_SOURCE,
      };
    }
    const { carrier, service, days } = outcome.estimate;
    return {
      text: `${product.name} ships from ${warehouse.name} with ${carrier} ${service} and should arrive in ${days} business day${days === 1 ? '' : 's'}.`,
      source: COMMERCE_SOURCE,
    };
  }
}
