// Preloaded (NODE_OPTIONS=--require) into a service by test/uncaught-errors.e2e-spec.ts. On SIGUSR2 it fails the
// way a bug outside any request would: a callback that throws (STRAY_ERROR=throw) or a promise that rejects with
// nobody waiting for it (STRAY_ERROR=reject).

process.on('SIGUSR2', () => {
  setImmediate(() => {
    if (process.env.STRAY_ERROR === 'reject') void Promise.reject(new Error('a promise nobody awaited'));
    else throw new Error('a callback that threw');
  });
});
