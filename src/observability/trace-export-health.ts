/** Span batches the exporters failed to deliver since the process started (`trace_export_failures_total`). */
let failures = 0;

export function traceExportFailures(): number {
  return failures;
}

export function countTraceExportFailure(): void {
  failures += 1;
}

/** Spans the batch processors dropped because their queue was full (`trace_spans_dropped_total`). */
let dropped = 0;

export function droppedSpans(): number {
  return dropped;
}

export function countDroppedSpans(count: number): void {
  dropped += count;
}
