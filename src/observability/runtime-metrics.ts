import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { readdirSync, readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { droppedLogLines } from './logging';
import { Metrics } from './metrics';

/** GC pauses: minor ones take well under a millisecond, a major one on a large heap can take a second. */
const GC_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Open file descriptors (Linux: the entries of /proc/self/fd), or undefined where that cannot be read. */
export function openFileDescriptors(): number | undefined {
  try {
    // One entry is the directory handle readdir itself opened.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** The soft limit on open file descriptors (Linux: /proc/self/limits), or undefined. */
export function maxFileDescriptors(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The process and Node.js runtime in Prometheus's usual names: CPU seconds, resident memory, open and allowed
 * file descriptors, start time, V8 heap by space, external memory, GC pauses by kind; and log lines dropped.
 * (Event-loop delay and utilisation come from EventLoopLoad, the pool's waiting callers from the database pool.)
 * Everything but GC is read when Prometheus scrapes; GC pauses are recorded as V8 reports them.
 */
@Injectable()
export class RuntimeMetrics implements OnModuleDestroy {
  private readonly gcObserver?: PerformanceObserver;

  constructor(metrics: Metrics) {
    if (!metrics.enabled) return;
    const startedAtSeconds = Math.round(Date.now() / 1000 - process.uptime());
    metrics.cumulative('process_cpu_seconds_total', 'User and system CPU time spent, in seconds', (observe) => {
      const { user, system } = process.cpuUsage();
      observe((user + system) / 1e6);
    });
    metrics.gauge('process_resident_memory_bytes', 'Resident set size, in bytes', (observe) =>
      observe(process.memoryUsage.rss()),
    );
    metrics.gauge('process_open_fds', 'Open file descriptors', (observe) => {
      const open = openFileDescriptors();
      if (open !== undefined) observe(open);
    });
    // Read once: the limit is the process's own, set before it starts.
    const maxFds = maxFileDescriptors();
    metrics.gauge('process_max_fds', 'Limit on open file descriptors', (observe) => {
      if (maxFds !== undefined) observe(maxFds);
    });
    metrics.gauge('process_start_time_seconds', 'Start time of the process, in Unix seconds', (observe) =>
      observe(startedAtSeconds),
    );
    metrics.gauge('nodejs_heap_space_used_bytes', 'V8 heap used, by space', (observe) => {
      for (const space of getHeapSpaceStatistics()) observe(space.space_used_size, { space: space.space_name });
    });
    metrics.gauge('nodejs_heap_space_size_bytes', 'V8 heap reserved, by space', (observe) => {
      for (const space of getHeapSpaceStatistics()) observe(space.space_size, { space: space.space_name });
    });
    metrics.gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript (buffers, …)', (observe) =>
      observe(process.memoryUsage().external),
    );
    metrics.cumulative(
      'log_lines_dropped_total',
      'Log lines dropped: the output not read or not writable while 8 MiB of lines waited, or its reader gone',
      (observe) => observe(droppedLogLines()),
    );
    const gcPause = metrics.histogram(
      'nodejs_gc_duration_seconds',
      'Garbage collection pauses, by kind (major, minor, incremental, weakcb)',
      GC_BUCKETS_SECONDS,
    );
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const { detail } = entry as { detail?: { kind?: number } };
        const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
        gcPause(entry.duration / 1000, { kind });
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  onModuleDestroy(): void {
    this.gcObserver?.disconnect();
  }
}
