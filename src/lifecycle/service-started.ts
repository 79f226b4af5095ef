/**
 * Emitted on `process` by the service once it listens (main.ts), for the launcher (launch.ts): every function its
 * start-up ran is compiled by then, and the code cache written now holds them all (the modules `main` loads after
 * its first await included; a cache written after the bundle's first run, as before 7 Dec, had none of them). A
 * module of its own, so that the service's bundle does not carry the launcher to name it.
 */
export const SERVICE_STARTED = 'webhook-fulfillment:started';
