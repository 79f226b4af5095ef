// Preloaded by bench/profile.mjs (node --import): the first SIGUSR2 starts V8's sampling profiler, the second
// stops it and writes the profile to PROFILE_OUT, so start-up and warm-up stay out of the profile. With
// PROFILE_KIND=heap it is V8's sampling heap profiler instead, counting also what the collector has since freed (most
// of a turn's allocation is freed by the next scavenge), written as a .heapprofile; with PROFILE_PROMOTED=1 only what
// outlived a scavenge (what the young generation's collections copy).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const HEAP = process.env.PROFILE_KIND === 'heap';
const session = new Session();
session.connect();
let profiling = false;

function start() {
  if (HEAP) {
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: process.env.PROFILE_PROMOTED !== '1',
    });
    return;
  }
  session.post('Profiler.enable', () =>
    session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')),
  );
}

process.on('SIGUSR2', () => {
  if (!profiling) {
    profiling = true;
    start();
    return;
  }
  session.post(HEAP ? 'HeapProfiler.stopSampling' : 'Profiler.stop', (error, result) => {
    profiling = false;
    if (!error) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(result.profile));
  });
});
