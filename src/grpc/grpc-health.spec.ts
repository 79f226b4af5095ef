import type { Subscription } from 'rxjs';
import type { Readiness } from '../health/readiness';
import { GrpcHealth } from './grpc-health';

/** A readiness that counts how often it is asked. */
function countingReadiness(): { readiness: Readiness; reads: () => number; set: (serving: boolean) => void } {
  let reads = 0;
  let serving = true;
  const readiness = {
    servingAsLastSeen() {
      reads += 1;
      return serving;
    },
  } as unknown as Readiness;
  return { readiness, reads: () => reads, set: (value) => (serving = value) };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GrpcHealth.watch', () => {
  it('looks at readiness once per interval for all open Watch streams, and sends each stream every change', async () => {
    const { readiness, reads, set } = countingReadiness();
    const health = new GrpcHealth(readiness);
    const seen: string[][] = Array.from({ length: 200 }, () => []);
    const subscriptions: Subscription[] = seen.map((statuses) =>
      health.watch('').subscribe((status) => statuses.push(status)),
    );
    try {
      await pause(600);
      set(false);
      await pause(400);
      // About 4 looks in 1 s: one shared timer, not one per stream (800 looks for 200 streams).
      expect(reads()).toBeLessThan(10);
      for (const statuses of seen) expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      subscriptions.forEach((subscription) => subscription.unsubscribe());
      health.onModuleDestroy();
    }
  });

  it('answers SERVICE_UNKNOWN for another name and keeps the stream open; ends every stream on shutdown', () => {
    const health = new GrpcHealth(countingReadiness().readiness);
    const seen: string[] = [];
    let completed = false;
    health
      .watch('no.such.Service')
      .subscribe({ next: (status) => seen.push(status), complete: () => (completed = true) });
    expect(seen).toEqual(['SERVICE_UNKNOWN']);
    expect(completed).toBe(false);
    health.endWatches();
    expect(completed).toBe(true);
  });
});
