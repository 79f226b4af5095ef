// Preloaded by bench/profile.mjs (node --import): the first SIGUSR2 starts V8's sampling profiler, the second
// stops it and writes the profile to PROFILE_OUT, so start-up and warm-up stay out of the profile.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
let profiling = false;
process.on('SIGUSR2', () => {
  if (!profiling) {
    profiling = true;
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')),
    );
    return;
  }
  session.post('Profiler.stop', (error, result) => {
    profiling = false;
    if (!error) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(result.profile));
  });
});
