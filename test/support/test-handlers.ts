import { Module } from '@nestjs/common';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../../src/fulfillment';

@IntentHandler('TestExplode')
export class ExplodingHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.reject(new Error('secret-internal-detail: connection to core banking refused'));
  }
}

/** Finishes only after the test releases it, so the test can prove the reply came first. */
@IntentHandler('TestSlow')
export class SlowHandler implements FulfillmentHandler {
  finished = false;
  sawAbort = false;
  private release?: () => void;

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    request.signal.addEventListener('abort', () => (this.sawAbort = true));
    await new Promise<void>((resolve) => (this.release = resolve));
    this.finished = true;
    return { text: 'too late' };
  }

  releaseNow(): void {
    this.release?.();
  }
}

@IntentHandler('TestOversized')
export class OversizedHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'x'.repeat(70 * 1024) });
  }
}

@IntentHandler('TestBadContext')
export class BadContextHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'ok', contexts: [{ name: 'has spaces/and slash', lifespan: 1 }] });
  }
}

@IntentHandler('TestRich')
export class RichHandler implements FulfillmentHandler {
  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    return Promise.resolve({
      text: `echo ${request.intent}`,
      messages: [
        { type: 'text', text: 'hello' },
        { type: 'quick-replies', title: 'Pick', replies: ['a', 'b'] },
        {
          type: 'card',
          title: 'Card',
          subtitle: 'Sub',
          imageUrl: 'https://example.com/i.png',
          buttons: [{ text: 'Go', postback: 'go' }],
        },
        { type: 'image', imageUrl: 'https://example.com/j.png', accessibilityText: 'J' },
        { type: 'payload', payload: { custom: { nested: true } } },
      ],
      contexts: [{ name: 'echo', lifespan: 3, parameters: { contexts: request.contexts.map((c) => c.name) } }],
      followupEvent: { name: 'NEXT_STEP', parameters: { step: 2 }, languageCode: 'en' },
      payload: { google: { expectUserResponse: true } },
    });
  }
}

/** Exercises the conversation features; the intent's parameter `feature` picks one. */
@IntentHandler('TestConversation')
export class ConversationHandler implements FulfillmentHandler {
  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const seen = { visits: Number(request.sessionParameters.visits ?? 0) + 1 };
    switch (request.parameters.feature) {
      case 'session':
        return Promise.resolve({ text: `visit ${seen.visits}`, sessionParameters: { ...seen, obsolete: null } });
      case 'elicit':
        return Promise.resolve({ text: 'Which date?', elicit: { parameter: 'date', invalid: true } });
      case 'confirm':
        return Promise.resolve({ text: 'Book it?', confirm: true });
      case 'handoff':
        return Promise.resolve({ text: 'Connecting you to an agent.', handoff: { reason: 'asked for a human' } });
      case 'end':
        return Promise.resolve({ text: 'Goodbye.', endConversation: true });
      default:
        return Promise.resolve({ text: '', delegate: true, sessionParameters: seen });
    }
  }
}

/** Reads a Lex composite slot's sub-slots as `address.street` / `address.city` and asks for a missing one. */
@IntentHandler('TestAddress', { stages: ['dialog', 'fulfillment'] })
export class AddressHandler implements FulfillmentHandler {
  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const city = request.parameters['address.city'];
    if (typeof city !== 'string')
      return Promise.resolve({ text: 'Which city?', elicit: { parameter: 'address.city' } });
    return Promise.resolve({ text: `Shipping to ${String(request.parameters['address.street'])}, ${city}.` });
  }
}

/** A long answer (about 2,600 characters in 40 sentences), for platforms that cap message length. */
@IntentHandler('TestLongReply')
export class LongReplyHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    const sentences = Array.from(
      { length: 40 },
      (_, n) => `Statement line ${n + 1} lists one of your recent payments.`,
    );
    return Promise.resolve({ text: sentences.join(' ') });
  }
}

/** Echoes the platform details it was given (Lex runtime hints and proposed next state) as a payload. */
@IntentHandler('TestPlatformDetails')
export class PlatformDetailsHandler implements FulfillmentHandler {
  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'details', payload: { details: request.platformDetails ?? null } });
  }
}

export const testHandlers = [
  AddressHandler,
  LongReplyHandler,
  PlatformDetailsHandler,
  ConversationHandler,
  ExplodingHandler,
  SlowHandler,
  OversizedHandler,
  BadContextHandler,
  RichHandler,
];

@Module({ providers: testHandlers })
export class TestHandlersModule {}
