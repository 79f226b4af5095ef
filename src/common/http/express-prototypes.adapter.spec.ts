import type { Application, Request, Response } from 'express';
import { IncomingMessage, type Server, ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { sameHiddenClass } from '../testing/hidden-class';
import { ExpressPrototypesAdapter } from './express-prototypes.adapter';

type PrototypedApp = Application & { request: object; response: object };

describe('ExpressPrototypesAdapter', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  async function listen(adapter: ExpressPrototypesAdapter): Promise<string> {
    adapter.initHttpServer({});
    const listening: Server = adapter.getHttpServer();
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  }

  it("makes each request and response on the express application's prototypes, before express sees them", async () => {
    const adapter = new ExpressPrototypesAdapter();
    const app = adapter.getInstance<PrototypedApp>();
    const url = await listen(adapter);
    const arrived: { request: object | null; response: object | null }[] = [];
    server?.prependListener('request', (request: IncomingMessage, response: ServerResponse) =>
      arrived.push({ request: Object.getPrototypeOf(request), response: Object.getPrototypeOf(response) }),
    );
    app.get('/where', (req: Request, res: Response) => {
      res.json({
        app: req.app === app,
        locals: typeof res.locals,
        node: req instanceof IncomingMessage && res instanceof ServerResponse,
        host: req.get('host') === new URL(url).host,
        path: req.path,
      });
    });

    const answer = await fetch(`${url}/where?x=1`);

    expect(await answer.json()).toEqual({ app: true, locals: 'object', node: true, host: true, path: '/where' });
    expect(arrived).toEqual([{ request: app.request, response: app.response }]);
  });

  it('gives requests and responses one hidden class each, however many properties are added on the way', async () => {
    const sameMap = sameHiddenClass();
    const adapter = new ExpressPrototypesAdapter();
    const app = adapter.getInstance<PrototypedApp>();
    const url = await listen(adapter);
    const held: { req: Request; res: Response }[] = [];
    let bothHeld: () => void = () => undefined;
    const compared = new Promise<[boolean, boolean]>((resolve) => {
      bothHeld = () => resolve([sameMap(held[0].req, held[1].req), sameMap(held[0].res, held[1].res)]);
    });
    // Holds both requests here (no next()) to compare them at the same point.
    app.use((req: Request, res: Response) => {
      // What the service's middleware and guards do to every request and response.
      Object.assign(req, { requestId: 'id', clientAddress: '127.0.0.1', caller: { id: 'c' } });
      res.setHeader('X-Request-Id', 'id');
      Object.assign(res, { startedAt: 1 });
      held.push({ req, res });
      if (held.length === 2) bothHeld();
    });

    const answers = [fetch(`${url}/one`), fetch(`${url}/two`)];
    const [requests, responses] = await compared;
    for (const { res } of held) res.end();
    await Promise.all(answers);

    // With Nest's own adapter express's Object.setPrototypeOf gave each request and response classes of their own
    // (on Node 20 and 22; Node 24's V8 caches them either way).
    expect({ requests, responses }).toEqual({ requests: true, responses: true });
  });

  it('makes an HTTPS server with the same classes when given httpsOptions', () => {
    const adapter = new ExpressPrototypesAdapter();
    const app = adapter.getInstance<PrototypedApp>();
    adapter.initHttpServer({ httpsOptions: {} });
    const https = adapter.getHttpServer() as HttpsServer;
    expect(https).toBeInstanceOf(HttpsServer);
    // Node keeps the classes it was given under these symbols (node:_http_server, Node 20 to 24).
    const given = (name: string) => {
      const key = Object.getOwnPropertySymbols(https).find((symbol) => symbol.description === name);
      return key && (https as unknown as Record<symbol, { prototype: object }>)[key].prototype;
    };
    expect({ request: given('IncomingMessage'), response: given('ServerResponse') }).toEqual({
      request: app.request,
      response: app.response,
    });
  });

  it('refuses forceCloseConnections rather than ignoring it', () => {
    expect(() => new ExpressPrototypesAdapter().initHttpServer({ forceCloseConnections: true })).toThrow(
      'does not support forceCloseConnections',
    );
  });
});
