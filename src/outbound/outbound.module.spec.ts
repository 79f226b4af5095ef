import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { OutboundHttpClient, OutboundModule } from '.';
import { startLocalServer } from './testing/local-server';

@Injectable()
class NeedsHttp {
  constructor(readonly http: OutboundHttpClient) {}
}

/** A feature module that does not import OutboundModule itself: the global module reaches it anyway. */
@Module({ providers: [NeedsHttp] })
class FeatureModule {}

describe('OutboundModule', () => {
  it('provides one OutboundHttpClient to every module and closes its agent on shutdown', async () => {
    const server = await startLocalServer();
    const moduleRef = await Test.createTestingModule({ imports: [OutboundModule, FeatureModule] }).compile();
    const app = await moduleRef.init();
    const http = app.get(OutboundHttpClient);
    expect(app.get(NeedsHttp).http).toBe(http);
    expect((await http.request({ method: 'GET', url: server.url })).status).toBe(200);
    await app.close();
    await expect(http.request({ method: 'GET', url: server.url })).rejects.toThrow();
    await server.close();
  });
});
