/**
 * Seeded random mutations of JSON documents, for the generative tests (mutated-bodies, mutated-grpc): a field given
 * another type or a hostile value, a field dropped, a key added, an array grown, the whole document replaced.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Path = (string | number)[];

export const FIXTURES = join(__dirname, '..', 'fixtures');

/** Every JSON fixture of a platform: its samples, its intents, and the real requests collected from the wild. */
export function fixturesOf(folder: string): { name: string; body: Json }[] {
  const found: { name: string; body: Json }[] = [];
  for (const sub of ['', 'intents', 'real']) {
    const dir = join(FIXTURES, folder, sub);
    let names: string[];
    try {
      names = readdirSync(dir).filter((name) => name.endsWith('.json'));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      found.push({ name: join(folder, sub, name), body: JSON.parse(readFileSync(join(dir, name), 'utf8')) as Json });
    }
  }
  if (folder === 'dialogflow-es') {
    const readme = readFileSync(join(FIXTURES, 'dialogflow-es-readme-request.json'), 'utf8');
    found.push({ name: 'dialogflow-es-readme-request.json', body: JSON.parse(readme) as Json });
  }
  return found;
}

/** mulberry32: small, seedable, good enough to pick mutations. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An object that has `key` as its own property, `__proto__` included (plain assignment would set the prototype). */
function withOwn(target: Record<string, Json>, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

function nested(depth: number, leaf: Json, asArray: boolean): Json {
  let value = leaf;
  for (let level = 0; level < depth; level += 1) {
    if (asArray) value = [value];
    else {
      const wrapper: Record<string, Json> = {};
      withOwn(wrapper, 'a', value);
      value = wrapper;
    }
  }
  return value;
}

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'k'.repeat(300)];

function hostileValue(random: () => number): Json {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const proto: Record<string, Json> = {};
  withOwn(proto, '__proto__', { polluted: true });
  const candidates: (() => Json)[] = [
    () => null,
    () => pick([true, false]),
    () => pick([0, -1, 1.5, -0.000001, 1e308, -1e308, 2 ** 53, 12345]),
    () =>
      pick(['', ' ', '12345', 'true', 'null', '{"a":1}', '\u0000', '\u202e\u200b', 'ñandú 🐍', '%s%n', '../../etc']),
    () => 'x'.repeat(pick([300, 5000, 70_000])),
    () => pick([[], {}, [null], [''], [{}]]),
    () => nested(pick([10, 70]), 'deep', random() < 0.5),
    () => proto,
    () => Array.from({ length: pick([100, 2000]) }, (_, index) => `item-${index}`),
  ];
  return pick(candidates)();
}

/** Every path in the document, the root ([]) first. */
function pathsOf(value: Json, prefix: Path = [], into: Path[] = []): Path[] {
  into.push(prefix);
  if (Array.isArray(value)) value.forEach((item, index) => pathsOf(item, [...prefix, index], into));
  else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) pathsOf(value[key], [...prefix, key], into);
  }
  return into;
}

/** The value at `path`; undefined where the path leaves the document. */
export function at(root: Json, path: Path): Json {
  let value: Json | undefined = root;
  for (const step of path) value = (value as Record<string | number, Json> | null | undefined)?.[step];
  return value as Json;
}

/** Mutates a copy of `body` in 1–3 steps; returns the copy and what was done. */
export function mutate(body: Json, random: () => number): { body: Json; steps: string[] } {
  let root = JSON.parse(JSON.stringify(body)) as Json;
  const steps: string[] = [];
  const count = 1 + Math.floor(random() * 3);
  for (let step = 0; step < count; step += 1) {
    const paths = pathsOf(root);
    const path = paths[Math.floor(random() * paths.length)];
    const where = path.join('.') || '(root)';
    const parent = path.length > 0 ? at(root, path.slice(0, -1)) : undefined;
    const last = path[path.length - 1];
    const target = at(root, path);
    const roll = random();
    if (path.length === 0 && roll < 0.1) {
      root = hostileValue(random);
      steps.push('the whole body replaced');
    } else if (roll < 0.5 && parent !== undefined) {
      const value = hostileValue(random);
      if (Array.isArray(parent)) parent[last as number] = value;
      else withOwn(parent as Record<string, Json>, last as string, value);
      steps.push(`${where} = ${JSON.stringify(value)?.slice(0, 60)}`);
    } else if (roll < 0.7 && parent !== undefined) {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Record<string, Json>)[last as string];
      steps.push(`${where} dropped`);
    } else if (roll < 0.9 && target && typeof target === 'object' && !Array.isArray(target)) {
      const key = HOSTILE_KEYS[Math.floor(random() * HOSTILE_KEYS.length)];
      withOwn(target, key, hostileValue(random));
      steps.push(`${where}.${key.slice(0, 20)} added`);
    } else if (Array.isArray(target) && target.length > 0) {
      const copies = 1 + Math.floor(random() * 500);
      target.push(...Array.from({ length: copies }, () => JSON.parse(JSON.stringify(target[0])) as Json));
      steps.push(`${where} grown by ${copies}`);
    } else {
      steps.push(`${where} left as it was`);
    }
  }
  return { body: root, steps };
}
