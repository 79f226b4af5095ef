// Import this first in a test file: it starts the OpenTelemetry SDK (src/observability/tracing.ts) with an
// in-memory exporter, before the application is created.
import type { Instrumentation, InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { builtinModules } from 'node:module';
import { startTracing, type Tracing } from '../../src/observability/tracing';

/**
 * Jest loads modules through its own registry, which the instrumentations' require hooks never see (in the
 * service, tracing.ts is loaded first and the hooks patch express, pg, … as they load). Here the same
 * patches are applied by hand to the modules of this test file's registry. Core modules (http) are the
 * process's own, shared with the next test file in this worker: the returned function takes the patches off.
 */
function applyPatches(instrumentations: readonly Instrumentation[], load: (id: string) => unknown): () => void {
  const undo: (() => void)[] = [];
  for (const instrumentation of instrumentations) {
    const definitions = (
      instrumentation as unknown as { getModuleDefinitions(): InstrumentationModuleDefinition[] }
    ).getModuleDefinitions();
    for (const definition of definitions) {
      let moduleExports: unknown;
      let version: string;
      try {
        moduleExports = load(definition.name);
        version = builtinModules.includes(definition.name)
          ? process.versions.node
          : (load(`${definition.name}/package.json`) as { version: string }).version;
      } catch {
        continue; // not installed (e.g. pg-native)
      }
      if (definition.patch) {
        definition.patch(moduleExports, version);
        undo.push(() => definition.unpatch?.(moduleExports, version));
      }
      for (const file of definition.files) {
        let fileExports: unknown;
        try {
          fileExports = load(file.name);
        } catch {
          continue; // an optional file (pg's native client)
        }
        file.patch(fileExports, version);
        undo.push(() => file.unpatch(fileExports, version));
      }
    }
  }
  return () => undo.reverse().forEach((unpatch) => unpatch());
}

export const spanExporter = new InMemorySpanExporter();

const started = startTracing({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
if (!started) throw new Error('tracing did not start: is OTEL_SDK_DISABLED=true set for the test run?');
const tracing: Tracing = started;
const unpatch = applyPatches(tracing.instrumentations, require);

/** Takes the patches off and stops tracing; call in `afterAll`. */
export async function stopTracing(): Promise<void> {
  unpatch();
  await tracing.shutdown();
}

/** Every span ended so far (exported once the resource's attributes are known). */
export async function finishedSpans(): Promise<ReadableSpan[]> {
  await tracing.forceFlush();
  return spanExporter.getFinishedSpans();
}
