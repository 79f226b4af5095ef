/** Why a listener could not take its port, in words an operator can act on. */
function reason(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code === 'EADDRINUSE' || /address already in use|EADDRINUSE/i.test(message)) {
    return 'the port is already in use by another process';
  }
  if (code === 'EACCES' || /EACCES|permission denied/i.test(message))
    return 'permission denied (ports below 1024 need privileges)';
  if (code === 'EADDRNOTAVAIL' || /EADDRNOTAVAIL/i.test(message)) return 'the address does not belong to this machine';
  return typeof code === 'string' ? code : message.split('\n')[0];
}

/**
 * A listener (HTTP, gRPC, metrics) that cannot bind: one line naming the listener, the address, the reason and
 * the setting to change. Start-up prints it instead of a stack trace.
 */
export class ListenError extends Error {
  constructor(
    readonly listener: string,
    readonly host: string,
    readonly port: number,
    readonly setting: string,
    cause: unknown,
    alternative?: string,
  ) {
    super(
      `the ${listener} cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port} (${reason(cause)}); ` +
        `set ${setting} to a free port${alternative ? ` or ${alternative}` : ''}`,
    );
    this.name = 'ListenError';
  }
}
