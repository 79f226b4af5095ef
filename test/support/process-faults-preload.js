// Preloaded (NODE_OPTIONS=--require) into a service by test/process-faults.e2e-spec.ts. On SIGUSR2 it does what
// a bug outside any request would (PLANT): a callback that throws (throw), a promise that rejects with nobody
// waiting for it (reject), or a process warning such as a listener leak (warning).

process.on('SIGUSR2', () => {
  setImmediate(() => {
    if (process.env.PLANT === 'warning') process.emitWarning('11 listeners added to a test emitter', 'TestLeakWarning');
    else if (process.env.PLANT === 'reject') void Promise.reject(new Error('a promise nobody awaited'));
    else throw new Error('a callback that threw');
  });
});
