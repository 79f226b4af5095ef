import { type INestApplication, Injectable, Module, type OnModuleDestroy, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { closeMarginMs, closeWithin, exitMarginMs } from './graceful-shutdown';

describe('the part of the grace period left for closing', () => {
  it('is 2 s, or half of what the delay leaves when that is less: the drain never gets nothing', () => {
    expect(closeMarginMs({ delayMs: 5000, graceMs: 25000 })).toBe(2000);
    // The least the configuration allows (2 s after the delay): 1 s to drain, 1 s to close.
    expect(closeMarginMs({ delayMs: 23000, graceMs: 25000 })).toBe(1000);
    expect(closeMarginMs({ delayMs: 0, graceMs: 2000 })).toBe(1000);
  });
});

describe('the part left after the close for what follows it', () => {
  it('is 500 ms, or a quarter of the close margin when that is less', () => {
    expect(exitMarginMs({ delayMs: 5000, graceMs: 25000 })).toBe(500);
    expect(exitMarginMs({ delayMs: 0, graceMs: 2000 })).toBe(250);
  });
});

describe('closing the application within a time', () => {
  /** A module hook that never finishes, as undici's Agent#close waiting on a downstream that never answers. */
  @Injectable()
  class NeverClosing implements OnModuleDestroy {
    onModuleDestroy(): Promise<void> {
      return new Promise(() => undefined);
    }
  }

  @Injectable()
  class FailingClose implements OnModuleDestroy {
    onModuleDestroy(): Promise<void> {
      return Promise.reject(new Error('pool would not close'));
    }
  }

  const appWith = async (provider: Type): Promise<INestApplication> => {
    @Module({ providers: [provider] })
    class TestModule {}
    const app = await NestFactory.create(TestModule, { logger: false });
    await app.init();
    return app;
  };

  it('says true once the application has closed', async () => {
    @Injectable()
    class Plain {}
    expect(await closeWithin(await appWith(Plain), 5000)).toBe(true);
  });

  it('gives up, false, when a hook is still running at the end (the close no longer holds the stop)', async () => {
    const app = await appWith(NeverClosing);
    expect(await closeWithin(app, 50)).toBe(false);
  });

  it('fails as the close failed within the time', async () => {
    await expect(closeWithin(await appWith(FailingClose), 5000)).rejects.toThrow('pool would not close');
  });
});
