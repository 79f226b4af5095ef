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

export const testHandlers = [
  ConversationHandler,
  ExplodingHandler,
  SlowHandler,
  OversizedHandler,
  BadContextHandler,
  RichHandler,
];

@Module({ providers: testHandlers })
export class TestHandlersModule {}
