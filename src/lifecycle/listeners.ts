import { createServer } from 'node:net';
import { ListenError } from '../common/errors/listen-error';
import type { AppConfig } from '../config';

export interface PlannedListener {
  readonly listener: string;
  readonly host: string;
  readonly port: number;
  readonly setting: string;
  readonly alternative?: string;
}

/** Every port the service will listen on, as configured (port 0, "any free port", is left out). */
export function plannedListeners(config: AppConfig): PlannedListener[] {
  const { host, port } = config.http;
  const listeners: PlannedListener[] = [
    { listener: config.tls ? 'HTTPS server' : 'HTTP server', host, port, setting: 'PORT' },
  ];
  if (config.grpc.enabled) {
    listeners.push({
      listener: 'gRPC server',
      host,
      port: config.grpc.port,
      setting: 'GRPC_PORT',
      alternative: 'GRPC_ENABLED=false',
    });
  }
  if (config.observability.metricsEnabled) {
    listeners.push({
      listener: 'metrics server',
      host,
      port: config.observability.metricsPort,
      setting: 'METRICS_PORT',
      alternative: 'METRICS_ENABLED=false',
    });
  }
  if (config.admin.enabled) {
    listeners.push({
      listener: 'admin server',
      host: config.admin.host,
      port: config.admin.port,
      setting: 'ADMIN_PORT',
      alternative: 'ADMIN_ENABLED=false',
    });
  }
  if (config.http.probePort !== undefined) {
    listeners.push({ listener: 'probe server', host, port: config.http.probePort, setting: 'PROBE_PORT' });
  }
  return listeners.filter((planned) => planned.port !== 0);
}

/** Binds and releases the port; rejects with a ListenError when it cannot be taken. */
export function probePort(planned: PlannedListener): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) =>
      reject(
        new ListenError(planned.listener, planned.host, planned.port, planned.setting, error, planned.alternative),
      ),
    );
    server.listen({ port: planned.port, host: planned.host, exclusive: true }, () => server.close(() => resolve()));
  });
}

/**
 * Checks every configured port before anything is started, so a port taken by another process (often a
 * second `npm start`) is reported as such, and not as whatever failed first in its wake. The listeners also
 * report a port lost in the moment between this check and their own bind.
 */
export async function assertPortsFree(config: AppConfig): Promise<void> {
  const planned = plannedListeners(config);
  assertPortsDistinct(planned);
  for (const listener of planned) await probePort(listener);
}

/**
 * Two listeners given one port: each check alone finds it free, and the second to bind then failed blaming
 * "another process". Named as what it is, with both settings.
 */
export function assertPortsDistinct(planned: readonly PlannedListener[]): void {
  const byPort = new Map<number, PlannedListener>();
  for (const listener of planned) {
    const first = byPort.get(listener.port);
    if (first) {
      const cause = new Error(`${first.setting} gives the ${first.listener} the same port`);
      throw new ListenError(
        listener.listener,
        listener.host,
        listener.port,
        listener.setting,
        cause,
        listener.alternative,
      );
    }
    byPort.set(listener.port, listener);
  }
}
