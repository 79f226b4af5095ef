import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  pluralOf,
  translator,
} from '../../../fulfillment';
import { CarrierClient } from '../carrier.client';
import { CommerceRepository } from '../commerce.repository';
import { COMMERCE_SOURCE, postcode, productReference } from '../commerce-parameters';
import { COMMERCE_MESSAGES } from '../commerce.messages';

/**
 * "How long would the X200 take to reach 10115?" — parameters `sku`/`product` and `postcode`. Asks the
 * carrier's API; when it is down, slow or answers nonsense the user hears so at once (circuit breaker), in a reply
 * marked `failed` (Lex closes the intent Failed). A postcode the carrier refuses (400, 404, 422) is asked for again.
 */
@IntentHandler('GetShippingEstimate')
export class GetShippingEstimateHandler implements FulfillmentHandler {
  constructor(
    private readonly commerce: CommerceRepository,
    private readonly carrier: CarrierClient,
  ) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const { languageCode } = request;
    const t = translator(COMMERCE_MESSAGES, languageCode);
    // What the user named in this turn wins over the product the session remembers (a `sku` kept from an earlier
    // CheckInventory outranked the `product` just said, merged into one set of parameters).
    const reference = productReference(request.parameters) ?? productReference(request.sessionParameters);
    if (!reference) return { text: t('askShippingProduct'), elicit: { parameter: 'product' } };
    const destination = postcode(request.parameters.postcode);
    if (!destination) return { text: t('askPostcode'), elicit: { parameter: 'postcode' } };
    const product = await this.commerce.findProduct(reference);
    if (!product) return { text: t('productNotFound', { reference }), source: COMMERCE_SOURCE };
    const warehouse = await this.commerce.shipsFrom(product.id);
    if (!warehouse) return { text: t('cannotEstimateOutOfStock', { product: product.name }), source: COMMERCE_SOURCE };

    const outcome = await this.carrier.estimate(
      warehouse.postcode,
      destination,
      product.weightGrams,
      request.signal,
      request.deadline,
    );
    if (!outcome.ok && outcome.reason === 'rejected') {
      // The carrier works, and said the request is wrong: the postcode the user gave is asked for again.
      return {
        text: t('askValidPostcode', { postcode: destination }),
        elicit: { parameter: 'postcode', invalid: true },
        source: COMMERCE_SOURCE,
      };
    }
    if (!outcome.ok) {
      // No estimate (the carrier down, slow or answering nonsense): the intent was not fulfilled.
      return { text: t('carrierUnreachable'), failed: true, source: COMMERCE_SOURCE };
    }
    const { carrier, service, days } = outcome.estimate;
    return {
      text: t(pluralOf(days, languageCode) === 'one' ? 'estimateOne' : 'estimateOther', {
        product: product.name,
        warehouse: warehouse.name,
        carrier,
        service,
        days,
      }),
      source: COMMERCE_SOURCE,
    };
  }
}
