import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { OutboundHttpClient, OutboundModule } from '.';
import { startLocalServer } from './testing/local-server';

@Injectable()
class NeedsHttp {
  constructor(readonly http: OutboundHttpClient) {}
}

@Module({ imports: [OutboundModule], providers: [NeedsHttp] })
class FeatureModule {}

@Module({ imports: [OutboundModule], providers: [NeedsHttp] })
class OtherFeatureModule {}

/** A module that uses the client without importing OutboundModule. */
@Module({ providers: [NeedsHttp] })
class UndeclaredModule {}

describe('OutboundModule', () => {
  it('gives every module that imports it the one OutboundHttpClient, and closes its agent on shutdown', async () => {
    const server = await startLocalServer();
    const moduleRef = await Test.createTestingModule({ imports: [FeatureModule, OtherFeatureModule] }).compile();
    const app = await moduleRef.init();
    const http = app.select(FeatureModule).get(NeedsHttp).http;
    expect(app.select(OtherFeatureModule).get(NeedsHttp).http).toBe(http);
    expect((await http.request({ method: 'GET', url: server.url })).status).toBe(200);
    await app.close();
    await expect(http.request({ method: 'GET', url: server.url })).rejects.toThrow();
    await server.close();
  });

  it('is not global: a module that does not import it fails at boot', async () => {
    await expect(Test.createTestingModule({ imports: [OutboundModule, UndeclaredModule] }).compile()).rejects.toThrow(
      /can't resolve dependencies of the NeedsHttp/,
    );
  });
});
