import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** What `--session <name>` remembers between runs. */
export interface SessionState {
  /** The `--param` values given so far (dates as the UTC calendar date), sent again with every turn. */
  readonly parameters: Record<string, string>;
  readonly sessionParameters: Record<string, unknown>;
  readonly esContexts: unknown[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function newSessionState(): SessionState {
  return { parameters: {}, sessionParameters: {}, esContexts: [] };
}

/** Where a session is kept: `.data/simulator/<name>.json` under the current folder (made when missing). */
export function sessionFile(name: string, folder = resolve('.data', 'simulator')): string {
  mkdirSync(folder, { recursive: true });
  return join(folder, `${name.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
}

/** The session kept in `file`; a new one when there is none. A file that holds no session is named, with the remedy. */
export function readSessionState(file: string): SessionState {
  if (!existsSync(file)) return newSessionState();
  const notASession = (why: string): Error =>
    new Error(`${file} is not a simulator session (${why}): delete it to start the session afresh`);
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error: unknown) {
    throw notASession(error instanceof Error ? error.message : String(error));
  }
  if (!isRecord(state)) throw notASession('not a JSON object');
  const { parameters = {}, sessionParameters = {}, esContexts = [] } = state;
  if (!isRecord(parameters) || !Object.values(parameters).every((value) => typeof value === 'string')) {
    throw notASession('"parameters" is not an object of strings');
  }
  if (!isRecord(sessionParameters)) throw notASession('"sessionParameters" is not an object');
  if (!Array.isArray(esContexts)) throw notASession('"esContexts" is not an array');
  return { parameters: parameters as Record<string, string>, sessionParameters, esContexts: esContexts as unknown[] };
}

export function writeSessionState(file: string, state: SessionState): void {
  writeFileSync(file, JSON.stringify(state, null, 2));
}
