import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Application } from 'express';
import { createServer as createHttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/**
 * Nest's express adapter, except that Node's server makes each request and response on the express application's
 * own prototypes (`app.request`, `app.response`) rather than on Node's. Express moves every request and response onto
 * them with `Object.setPrototypeOf` (in `app.handle`), and up to Node 22 V8 caches no hidden class for an object whose
 * prototype was changed: each property added to it afterwards (express's, Nest's and ours, some twenty a turn) made a
 * hidden class of its own, and every property read of a request or response missed V8's inline caches. Made on those
 * prototypes from the start, the `setPrototypeOf` changes nothing and all requests share their hidden classes.
 */
export class ExpressPrototypesAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    // Nest's own tracking of open connections is private to its adapter; this service closes them itself.
    if (options.forceCloseConnections)
      throw new Error('ExpressPrototypesAdapter does not support forceCloseConnections');
    const app = this.getInstance<Application & ExpressPrototypes>();
    const classes = { IncomingMessage: requestClassOf(app), ServerResponse: responseClassOf(app) };
    this.setHttpServer(
      options.httpsOptions
        ? createHttpsServer({ ...options.httpsOptions, ...classes }, app)
        : createHttpServer(classes, app),
    );
  }
}

/** What express's typings leave out: the prototypes `app.handle` gives every request and response. */
interface ExpressPrototypes {
  request: object;
  response: object;
}

/** Node's request class with `app.request` above its prototype, which then stands in for `app.request`. */
function requestClassOf(app: ExpressPrototypes): typeof IncomingMessage {
  class ExpressRequest extends IncomingMessage {}
  Object.setPrototypeOf(ExpressRequest.prototype, app.request);
  app.request = ExpressRequest.prototype;
  return ExpressRequest;
}

/** Node's response class with `app.response` above its prototype, which then stands in for `app.response`. */
function responseClassOf(app: ExpressPrototypes): typeof ServerResponse {
  class ExpressResponse extends ServerResponse {}
  Object.setPrototypeOf(ExpressResponse.prototype, app.response);
  app.response = ExpressResponse.prototype;
  // Node's typing of the class is generic over the request type; this one serves ExpressRequest.
  return ExpressResponse as unknown as typeof ServerResponse;
}
