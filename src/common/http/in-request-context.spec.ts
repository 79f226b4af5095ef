import { EventEmitter } from 'node:events';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { inRequestContext } from './in-request-context';

describe('inRequestContext', () => {
  const REQUEST = createContextKey('request');

  afterEach(() => context.disable());

  it('runs the listener in the context it was bound in, with the arguments the event was emitted with', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const emitter = new EventEmitter();
    const seen: unknown[] = [];
    context.with(ROOT_CONTEXT.setValue(REQUEST, 'request-1'), () => {
      emitter.on(
        'data',
        inRequestContext((chunk: string, more: number) => seen.push(context.active().getValue(REQUEST), chunk, more)),
      );
    });
    // Emitted from another request's context, as a socket's events can be.
    context.with(ROOT_CONTEXT.setValue(REQUEST, 'request-2'), () => emitter.emit('data', 'a', 1));
    expect(seen).toEqual(['request-1', 'a', 1]);
    expect(context.active().getValue(REQUEST)).toBeUndefined();
  });

  it('leaves the listener as it is while tracing is off (no context manager: nothing to carry)', () => {
    const listener = jest.fn();
    expect(inRequestContext(listener)).toBe(listener);
  });

  it('leaves the listener as it is where the context is the root one (a probe has no server span)', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const listener = jest.fn();
    expect(inRequestContext(listener)).toBe(listener);
  });
});
