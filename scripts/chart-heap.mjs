// The V8 options the Helm chart puts in NODE_OPTIONS from its `heap` values (templates/_helpers.tpl, "wf.nodeOptions"):
// what scripts/check-chart.mjs expects the rendered manifests to hold, and what bench/run.mjs starts its chart row with.

/** `heap.maxOldSpaceMiB` and, unless null, `heap.maxSemiSpaceMiB`, as Node's command-line options. */
export function chartHeapOptions({ maxOldSpaceMiB, maxSemiSpaceMiB }) {
  return [
    `--max-old-space-size=${maxOldSpaceMiB}`,
    ...(maxSemiSpaceMiB === null || maxSemiSpaceMiB === undefined ? [] : [`--max-semi-space-size=${maxSemiSpaceMiB}`]),
  ];
}
