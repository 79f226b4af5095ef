import 'reflect-metadata';

import { Inject, Injectable, Logger, Module, Scope, Type } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { Test, TestingModule } from '@nestjs/testing';
import {
  DuplicateIntentHandlerError,
  FulfillmentHandler,
  FulfillmentModule,
  FulfillmentResult,
  IntentHandler,
  IntentHandlerRegistry,
  IntentRegistrationError,
  InvalidIntentHandlerError,
} from '.';

const OPTIONS = { fallbackText: 'f', errorText: 'e', interimText: 'i' };

@IntentHandler('GetBalance')
class GetBalanceHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'balance' });
  }
}

@IntentHandler('Transfer')
class TransferHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'transfer' });
  }
}

@Injectable()
class Clock {
  now(): number {
    return 42;
  }
}

/** A handler with a (singleton) dependency of its own. */
@IntentHandler('WhatTime')
class WhatTimeHandler implements FulfillmentHandler {
  constructor(private readonly clock: Clock) {}

  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: String(this.clock.now()) });
  }
}

@IntentHandler('GetBalance')
class AnotherGetBalanceHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'another balance' });
  }
}

@Injectable({ scope: Scope.REQUEST })
@IntentHandler('Y')
class RequestScopedHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'y' });
  }
}

/** Injecting REQUEST makes a provider request-scoped implicitly. */
@IntentHandler('Y')
class RequestInjectingHandler implements FulfillmentHandler {
  constructor(@Inject(REQUEST) private readonly request: unknown) {}

  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: String(this.request) });
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequestState {
  value = 1;
}

/** Depending on a request-scoped provider makes the handler request-scoped too. */
@IntentHandler('Y')
class DependsOnRequestScopedHandler implements FulfillmentHandler {
  constructor(private readonly state: PerRequestState) {}

  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: String(this.state.value) });
  }
}

@Injectable({ scope: Scope.TRANSIENT })
@IntentHandler('T')
class TransientHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 't' });
  }
}

@IntentHandler('NoHandle')
class NoHandleHandler {
  answer(): string {
    return 'no';
  }
}

@IntentHandler('NotAFunction')
class HandlePropertyHandler {
  readonly handle = 'not a function';
}

/** A state-changing handler run as a background job. */
@IntentHandler('ExportStatements', { changesState: true, mode: 'async' })
class ExportStatementsHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'exported' });
  }
}

/** Every option at once. */
@IntentHandler('BookSlot', { stages: ['dialog', 'fulfillment'], changesState: true, mode: 'sync' })
class BookSlotHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'booked' });
  }
}

@Module({ providers: [GetBalanceHandler, TransferHandler, WhatTimeHandler, Clock] })
class BankingHandlersModule {}

async function compile(...providers: Type[]): Promise<TestingModule> {
  @Module({ providers })
  class HandlersUnderTestModule {}

  return Test.createTestingModule({
    imports: [FulfillmentModule.forRoot(OPTIONS), HandlersUnderTestModule],
  }).compile();
}

/** Initialises the module expecting a registration error, and returns it. */
async function initError(moduleRef: TestingModule): Promise<unknown> {
  let caught: unknown;
  try {
    await moduleRef.init();
  } catch (error: unknown) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(IntentRegistrationError);
  return caught;
}

describe('IntentHandlerRegistry', () => {
  let moduleRef: TestingModule | undefined;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await moduleRef?.close().catch(() => undefined);
    moduleRef = undefined;
    jest.restoreAllMocks();
  });

  describe('discovery', () => {
    beforeEach(async () => {
      moduleRef = await Test.createTestingModule({
        imports: [FulfillmentModule.forRoot(OPTIONS), BankingHandlersModule],
      }).compile();
      await moduleRef.init();
    });

    it('finds the handlers of another module', () => {
      const registry = moduleRef!.get(IntentHandlerRegistry);
      expect(registry.intents().sort()).toEqual(['GetBalance', 'Transfer', 'WhatTime']);
    });

    it('registers the singleton instance with its class name', async () => {
      const registry = moduleRef!.get(IntentHandlerRegistry);
      const registered = registry.find('GetBalance');
      expect(registered).toEqual({
        intent: 'GetBalance',
        stages: ['fulfillment'],
        // The defaults: read-only (no idempotency record) and answered in the request.
        changesState: false,
        mode: 'sync',
        className: 'GetBalanceHandler',
        handler: moduleRef!.get(GetBalanceHandler),
      });
      expect(registered?.handler).toBeInstanceOf(GetBalanceHandler);
      expect(await registry.find('WhatTime')?.handler.handle({} as never)).toEqual({ text: '42' });
    });

    it('returns undefined for an intent nobody handles', () => {
      const registry = moduleRef!.get(IntentHandlerRegistry);
      expect(registry.find('Unknown')).toBeUndefined();
      expect(registry.find('getbalance')).toBeUndefined();
    });

    it('logs the intents it found', () => {
      expect(Logger.prototype.log).toHaveBeenCalledWith('Intent handlers: GetBalance, Transfer, WhatTime');
    });
  });

  it('records changesState and mode from @IntentHandler options', async () => {
    moduleRef = await compile(ExportStatementsHandler, BookSlotHandler);
    await moduleRef.init();
    const registry = moduleRef.get(IntentHandlerRegistry);
    expect(registry.find('ExportStatements')).toEqual({
      intent: 'ExportStatements',
      stages: ['fulfillment'],
      changesState: true,
      mode: 'async',
      className: 'ExportStatementsHandler',
      handler: moduleRef.get(ExportStatementsHandler),
    });
    expect(registry.find('BookSlot')).toEqual({
      intent: 'BookSlot',
      stages: ['dialog', 'fulfillment'],
      changesState: true,
      mode: 'sync',
      className: 'BookSlotHandler',
      handler: moduleRef.get(BookSlotHandler),
    });
  });

  it('starts with no handlers at all', async () => {
    moduleRef = await compile();
    await moduleRef.init();
    expect(moduleRef.get(IntentHandlerRegistry).intents()).toEqual([]);
    expect(Logger.prototype.log).toHaveBeenCalledWith('Intent handlers: (none)');
  });

  it('rejects two handlers for the same intent, naming both classes and the intent', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        FulfillmentModule.forRoot(OPTIONS),
        BankingHandlersModule,
        (() => {
          @Module({ providers: [AnotherGetBalanceHandler] })
          class OtherTeamModule {}
          return OtherTeamModule;
        })(),
      ],
    }).compile();
    const error = await initError(moduleRef);
    expect(error).toBeInstanceOf(DuplicateIntentHandlerError);
    const { message } = error as DuplicateIntentHandlerError;
    expect(message).toContain('"GetBalance"');
    expect(message).toContain('GetBalanceHandler');
    expect(message).toContain('AnotherGetBalanceHandler');
    expect(message).toMatch(
      /\bGetBalanceHandler and AnotherGetBalanceHandler\b|AnotherGetBalanceHandler and GetBalanceHandler\b/,
    );
  });

  it('rejects duplicates through createNestApplication().init() as well', async () => {
    moduleRef = await compile(GetBalanceHandler, AnotherGetBalanceHandler);
    const app = moduleRef.createNestApplication({ logger: false });
    let caught: unknown;
    try {
      await app.init();
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DuplicateIntentHandlerError);
    await app.close().catch(() => undefined);
  });

  describe('handlers that are not singletons', () => {
    it.each<[string, Type[], string]>([
      ['@Injectable({ scope: REQUEST }) above @IntentHandler', [RequestScopedHandler], 'RequestScopedHandler'],
      ['a handler injecting REQUEST', [RequestInjectingHandler], 'RequestInjectingHandler'],
      [
        'a handler depending on a request-scoped provider',
        [DependsOnRequestScopedHandler, PerRequestState],
        'DependsOnRequestScopedHandler',
      ],
      ['a transient handler', [TransientHandler], 'TransientHandler'],
    ])('rejects %s', async (_label, providers, className) => {
      moduleRef = await compile(...providers);
      const error = await initError(moduleRef);
      expect(error).toBeInstanceOf(InvalidIntentHandlerError);
      expect((error as Error).message).toContain(className);
      expect((error as Error).message).toContain('handlers must be singletons');
    });

    it('rejects a request scope declared by an @Injectable placed below @IntentHandler', async () => {
      // Decorators run bottom-up: @IntentHandler must keep the scope the @Injectable below it declared.
      @IntentHandler('Y')
      @Injectable({ scope: Scope.REQUEST })
      class ScopedBelowHandler implements FulfillmentHandler {
        handle(): Promise<FulfillmentResult> {
          return Promise.resolve({ text: 'y' });
        }
      }

      moduleRef = await compile(ScopedBelowHandler);
      const error = await initError(moduleRef);
      expect(error).toBeInstanceOf(InvalidIntentHandlerError);
      expect((error as Error).message).toContain('ScopedBelowHandler');
    });
  });

  describe('handlers without a handle method', () => {
    it.each<[string, Type, string]>([
      ['no handle method', NoHandleHandler, 'NoHandleHandler'],
      ['a handle property that is not a function', HandlePropertyHandler, 'HandlePropertyHandler'],
    ])('rejects a class with %s', async (_label, handler, className) => {
      moduleRef = await compile(handler);
      const error = await initError(moduleRef);
      expect(error).toBeInstanceOf(InvalidIntentHandlerError);
      expect((error as Error).message).toBe(`${className} is marked @IntentHandler but has no handle(request) method.`);
    });
  });
});

describe('@IntentHandler', () => {
  it.each(['', '   '])('throws a TypeError at decoration time for %j', (intent) => {
    expect(() => IntentHandler(intent)).toThrow(TypeError);
    expect(() => IntentHandler(intent)).toThrow('@IntentHandler needs a non-empty intent name');
  });

  it('throws while the class is being declared', () => {
    const declare = () => {
      @IntentHandler('')
      class EmptyIntentHandler {}
      return EmptyIntentHandler;
    };
    expect(declare).toThrow(TypeError);
  });

  it('throws for a non-string intent from untyped code', () => {
    expect(() => IntentHandler(undefined as unknown as string)).toThrow(TypeError);
  });

  it('makes the class injectable', () => {
    @IntentHandler('Z')
    class Decorated {}

    expect(Reflect.getMetadata('__injectable__', Decorated)).toBe(true);
  });
});
