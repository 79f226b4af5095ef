/**
 * Variables of the environment that look like a misspelt or misprefixed variable of the service (`THROTLE_LIMIT`,
 * `DATABSE_URL`, `APP_DATABASE_URL`): the service ignores them, so the setting they were meant for keeps its default
 * without a word. Other variables (the platform's, the runtime's, other programs') are left alone.
 */

/** Variables read by something else than the service's configuration, never taken for a misspelling. */
const OTHER_READERS = [
  /^(PATH|HOME|HOSTNAME|PWD|TZ|TMPDIR)$/,
  // OpenSSL's (Node with --use-openssl-ca).
  /^SSL_CERT_(FILE|DIR)$/,
  /^KUBERNETES_/,
  /^NODE_/,
  /^npm_/i,
  /^OTEL_/,
  // grpc-js's own settings (GRPC_TRACE, GRPC_VERBOSITY, GRPC_NODE_…, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH).
  /^GRPC_(TRACE|VERBOSITY|NODE_|DEFAULT_SSL_|SSL_|EXPERIMENTAL_)/,
  // Kubernetes service links: `<SERVICE>_SERVICE_HOST`, `<SERVICE>_SERVICE_PORT[_<name>]`, `<SERVICE>_PORT_<n>_TCP…`.
  /_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$/,
  /_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/,
];
/** `<SERVICE>_PORT=tcp://10.0.0.7:6379`, the last of the Kubernetes service links. */
const SERVICE_LINK_ADDRESS = /^(tcp|udp|sctp):\/\//;
const VARIABLE_NAME = /^[A-Z][A-Z0-9_]*$/;
/** Shorter names are too alike by chance (`HOST`, `PORT`) to be told apart from a misspelling. */
const MIN_COMPARED_LENGTH = 6;
const MAX_DISTANCE = 2;

/**
 * The optimal string alignment distance (Damerau-Levenshtein, each substring edited once): insertions, deletions,
 * substitutions and swaps of two neighbours. Past `limit`, it says only `limit + 1`.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  // Three rows of the table: the one before the previous (for swaps), the previous and the current.
  let beforePrevious = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let cell = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        cell = Math.min(cell, beforePrevious[j - 2] + 1);
      }
      current[j] = cell;
      rowMin = Math.min(rowMin, cell);
    }
    // Every alignment passes this row within one edit of where it stands: none ends within `limit` past it.
    if (rowMin > limit) return limit + 1;
    [beforePrevious, previous, current] = [previous, current, beforePrevious];
  }
  return Math.min(previous[b.length], limit + 1);
}

/**
 * First words that name one thing: `DATABASE_POOL_SIZE` means `DB_POOL_SIZE`. Any other first word may name another
 * program's setting of the same kind (`CARRIER_TIMEOUT_MS` is not `CALLBACK_TIMEOUT_MS`).
 */
const SAME_PREFIXES: readonly (readonly string[])[] = [['DB', 'DATABASE', 'PG', 'POSTGRES']];

interface KnownVariable {
  readonly name: string;
  /** Its first word and the rest (`DATABASE`, `URL`), split once. */
  readonly prefix: string;
  readonly rest: string;
}

function splitName(name: string): { prefix: string; rest: string } {
  const at = name.indexOf('_');
  return at < 0 ? { prefix: name, rest: '' } : { prefix: name.slice(0, at), rest: name.slice(at + 1) };
}

/** The same name under a prefix that means the same, or with a prefix added (`APP_DATABASE_URL`). */
function samePastPrefix(name: string, split: { prefix: string; rest: string }, known: KnownVariable): boolean {
  if (known.rest !== '' && name.endsWith(`_${known.name}`)) return true;
  return (
    split.rest !== '' &&
    split.rest === known.rest &&
    SAME_PREFIXES.some((group) => group.includes(split.prefix) && group.includes(known.prefix))
  );
}

/** Per character code, how many more times one name has it than the other (reused; left all zero after use). */
const countDifference = new Int16Array(128);

/**
 * A lower bound of `editDistance(a, b)` that costs a pass over each name: an insertion or a deletion changes one
 * character's count by one, a substitution two counts, a swap none; so the edits are at least half the difference.
 * Most pairs of names are told apart by it, where the distance's table would be filled (a start paid ~10 ms for it).
 */
export function countBound(a: string, b: string): number {
  for (let i = 0; i < a.length; i++) countDifference[a.charCodeAt(i) & 127] += 1;
  for (let i = 0; i < b.length; i++) countDifference[b.charCodeAt(i) & 127] -= 1;
  let difference = 0;
  for (const name of [a, b]) {
    for (let i = 0; i < name.length; i++) {
      const code = name.charCodeAt(i) & 127;
      difference += Math.abs(countDifference[code]);
      countDifference[code] = 0;
    }
  }
  return Math.ceil(difference / 2);
}

/** The known variable `name` is most likely meant to be, if any. */
function meantVariable(name: string, known: readonly KnownVariable[]): string | undefined {
  let best: { variable: string; distance: number } | undefined;
  for (const { name: variable } of known) {
    if (variable.length < MIN_COMPARED_LENGTH || Math.abs(variable.length - name.length) > MAX_DISTANCE) continue;
    if (countBound(name, variable) > MAX_DISTANCE) continue;
    const distance = editDistance(name, variable, MAX_DISTANCE);
    if (distance <= MAX_DISTANCE && (!best || distance < best.distance)) best = { variable, distance };
  }
  if (best) return best.variable;
  const split = splitName(name);
  return known.find((variable) => samePastPrefix(name, split, variable))?.name;
}

/**
 * One warning per variable of `source` that is not `known` but close to a known one; names only, never values.
 */
export function misspeltVariables(
  source: Readonly<Record<string, string | undefined>>,
  known: ReadonlySet<string>,
): string[] {
  const knownList = [...known].sort().map((name): KnownVariable => ({ name, ...splitName(name) }));
  const warnings: string[] = [];
  for (const [name, value] of Object.entries(source)) {
    if (known.has(name) || name.length < MIN_COMPARED_LENGTH || !VARIABLE_NAME.test(name)) continue;
    if (OTHER_READERS.some((pattern) => pattern.test(name))) continue;
    if (name.endsWith('_PORT') && SERVICE_LINK_ADDRESS.test(value ?? '')) continue;
    const meant = meantVariable(name, knownList);
    if (meant) warnings.push(`${name} is not a variable of the service and is ignored: did you mean ${meant}?`);
  }
  return warnings;
}
