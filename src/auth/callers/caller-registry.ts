import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { load as parseYaml } from 'js-yaml';
import { ConfigError } from '../../config';
import { Caller, Platform, PLATFORMS } from '../../fulfillment';

export interface RegisteredCaller extends Caller {
  /** SHA-256 digests of every accepted bearer token (several during a rotation). */
  readonly bearerTokenDigests: readonly Buffer[];
}

export const LOCAL_DEV_CALLER_ID = 'local-dev';
export const LOCAL_DEV_TOKEN = 'local-dev-token';
const MIN_TOKEN_LENGTH = 16;

export function digestToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class CallersFileError extends ConfigError {}

/**
 * Parses a callers file:
 *
 * ```yaml
 * callers:
 *   - id: dialogflow-prod
 *     platforms: [dialogflow-es]
 *     auth:
 *       bearer:
 *         tokens: [current-token, previous-token]
 * ```
 */
export function parseCallers(yamlText: string, source: string): RegisteredCaller[] {
  const problems: string[] = [];
  let document: unknown;
  try {
    document = parseYaml(yamlText);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new CallersFileError([`CALLERS_FILE ${source}: not valid YAML (${reason})`]);
  }
  const list = (document as { callers?: unknown } | null)?.callers;
  if (!Array.isArray(list) || list.length === 0) {
    throw new CallersFileError([`CALLERS_FILE ${source}: needs a non-empty "callers" list`]);
  }
  const callers: RegisteredCaller[] = [];
  const ids = new Set<string>();
  const tokenOwners = new Map<string, number>();
  list.forEach((entry: unknown, index) => {
    const where = `CALLERS_FILE ${source}: callers[${index}]`;
    const item = (entry ?? {}) as { id?: unknown; platforms?: unknown; auth?: { bearer?: { tokens?: unknown } } };
    const id = typeof item.id === 'string' && /^[a-z0-9][a-z0-9._-]{0,63}$/i.test(item.id) ? item.id : undefined;
    if (!id) problems.push(`${where}.id: must be 1-64 letters, digits, ".", "_" or "-"`);
    else if (ids.has(id.toLowerCase())) problems.push(`${where}.id: "${id}" is used twice`);
    else ids.add(id.toLowerCase());

    const platforms = item.platforms;
    const validPlatforms =
      Array.isArray(platforms) && platforms.length > 0 && platforms.every((p) => PLATFORMS.includes(p as Platform));
    if (!validPlatforms) problems.push(`${where}.platforms: must list one or more of ${PLATFORMS.join(', ')}`);

    const tokens = item.auth?.bearer?.tokens;
    const validTokens =
      Array.isArray(tokens) &&
      tokens.length > 0 &&
      tokens.every((t) => typeof t === 'string' && t.length >= MIN_TOKEN_LENGTH);
    if (!validTokens) {
      problems.push(
        `${where}.auth.bearer.tokens: must list one or more tokens of at least ${MIN_TOKEN_LENGTH} characters`,
      );
    }
    if (validTokens) {
      for (const token of tokens as string[]) {
        const owner = tokenOwners.get(token);
        if (owner !== undefined && owner !== index) {
          problems.push(`${where}.auth.bearer.tokens: a token is also listed for callers[${owner}]`);
        } else {
          tokenOwners.set(token, index);
        }
      }
    }
    if (id && validPlatforms && validTokens) {
      callers.push({
        id,
        platforms: platforms as Platform[],
        bearerTokenDigests: (tokens as string[]).map(digestToken),
      });
    }
  });
  if (problems.length > 0) throw new CallersFileError(problems);
  return callers;
}

export function loadCallersFile(path: string): RegisteredCaller[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CallersFileError([`CALLERS_FILE: cannot read ${path} (${code})`]);
  }
  return parseCallers(text, path);
}

export function localDevCallers(): RegisteredCaller[] {
  return [{ id: LOCAL_DEV_CALLER_ID, platforms: [...PLATFORMS], bearerTokenDigests: [digestToken(LOCAL_DEV_TOKEN)] }];
}

/** Finds the caller owning a bearer token, comparing every digest in constant time. */
export class CallerRegistry {
  /** `source` is the callers file, or undefined for the built-in local development caller. */
  constructor(
    private readonly callers: readonly RegisteredCaller[],
    readonly source?: string,
  ) {}

  findByBearerToken(token: string): RegisteredCaller | undefined {
    const presented = digestToken(token);
    let match: RegisteredCaller | undefined;
    for (const caller of this.callers) {
      for (const digest of caller.bearerTokenDigests) {
        if (timingSafeEqual(digest, presented) && !match) match = caller;
      }
    }
    return match;
  }

  get size(): number {
    return this.callers.length;
  }
}
