import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { type Platform, PLATFORMS } from '../common/platform';
import { type PlatformAdapter, WebhookAdapter } from './platform-adapter';

export class PlatformAdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlatformAdapterError';
  }
}

/** Every `@WebhookAdapter` provider, found at start-up: exactly one per platform, or start-up fails saying which. */
@Injectable()
export class PlatformAdapters implements OnModuleInit {
  private readonly byPlatform = new Map<Platform, PlatformAdapter>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    this.discover();
  }

  get(platform: Platform): PlatformAdapter {
    // Before the application's init (the OpenAPI document is built then), the adapters exist but are not listed yet.
    this.discover();
    const adapter = this.byPlatform.get(platform);
    if (!adapter) throw new PlatformAdapterError(`No adapter for platform ${platform}`);
    return adapter;
  }

  /** Lists the adapters once; later calls find them listed. */
  private discover(): void {
    if (this.byPlatform.size > 0) return;
    for (const wrapper of this.discovery.getProviders({ metadataKey: WebhookAdapter.KEY })) {
      const platform = this.discovery.getMetadataByDecorator(WebhookAdapter, wrapper);
      const adapter = wrapper.instance as PlatformAdapter | undefined;
      const name = wrapper.metatype?.name ?? String(wrapper.name);
      if (!platform || !adapter) continue;
      if (adapter.platform !== platform) {
        throw new PlatformAdapterError(
          `${name} is marked @WebhookAdapter('${platform}') but says it adapts ${adapter.platform}`,
        );
      }
      const existing = this.byPlatform.get(platform);
      if (existing) {
        throw new PlatformAdapterError(
          `Platform "${platform}" has two adapters: ${existing.constructor.name} and ${name}`,
        );
      }
      this.byPlatform.set(platform, adapter);
    }
    const missing = PLATFORMS.filter((platform) => !this.byPlatform.has(platform));
    if (missing.length > 0) throw new PlatformAdapterError(`No adapter for platform(s) ${missing.join(', ')}`);
  }
}
