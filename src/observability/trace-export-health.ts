/** Span batches the exporters failed to deliver since the process started (`trace_export_failures_total`). */
let failures = 0;

export function traceExportFailures(): number {
  return failures;
}

export function countTraceExportFailure(): void {
  failures += 1;
}
