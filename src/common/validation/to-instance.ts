import { plainToInstance, TransformationType, type ClassConstructor } from 'class-transformer';
import type { MetadataStorage } from 'class-transformer/types/MetadataStorage';

// The storage the decorators write to; class-transformer's index does not export it (@nestjs/mapped-types
// reads it the same way).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: MetadataStorage;
};

/**
 * `plainToInstance(dto, body)` for a parsed JSON body, with class-transformer's result (the same classes at
 * the same places, the same keys copied, untyped objects and arrays copied too, keys that would shadow a
 * prototype member dropped), but decided per class once instead of per key: class-transformer looked up
 * its metadata for every key of every object, which cost a Rasa tracker ~250 µs. A class that uses what
 * this does not reproduce (@Expose, @Exclude, @Transform, discriminators, Set/Map properties, String/Number/
 * Boolean/Date/Buffer targets) is converted by class-transformer itself. `to-instance.spec.ts` compares the
 * two results on every fixture and on mutations of them.
 */
export function toInstance<T extends object>(dto: ClassConstructor<T>, body: object): T {
  return planFor(dto) ? (convert(body, dto) as T) : plainToInstance(dto, body);
}

type Constructor = new () => object;

/** Per class: the class each typed property converts to; null when class-transformer must do it. */
type ClassPlan = ReadonlyMap<string, Constructor>;

const plans = new Map<Constructor, ClassPlan | null>();
const PRIMITIVE_TARGETS = new Set<unknown>([String, Number, Boolean, Date, Buffer, Map, Set, Promise]);

function planFor(target: Constructor): ClassPlan | null {
  let plan = plans.get(target);
  if (plan === undefined) {
    // Recursive shapes (a class typed as itself) see the entry while it is built.
    plans.set(target, null);
    plan = buildPlan(target);
    plans.set(target, plan);
  }
  return plan;
}

function buildPlan(target: Constructor): ClassPlan | null {
  const storage = defaultMetadataStorage;
  if (storage.getStrategy(target) !== 'none') return null;
  if (storage.getExposedMetadatas(target).length > 0 || storage.getExcludedMetadatas(target).length > 0) return null;
  const typed = new Map<string, Constructor>();
  // Decorated properties are declared class fields, so an instance has each of them as an own key.
  for (const property of Object.keys(new target())) {
    if (storage.findTransformMetadatas(target, property, TransformationType.PLAIN_TO_CLASS).length > 0) return null;
    const metadata = storage.findTypeMetadata(target, property);
    if (!metadata) continue;
    if (metadata.options?.discriminator || metadata.reflectedType === Set || metadata.reflectedType === Map) {
      return null;
    }
    const type = metadata.typeFunction?.({ newObject: {}, object: {}, property }) as Constructor | undefined;
    if (typeof type !== 'function' || PRIMITIVE_TARGETS.has(type)) return null;
    typed.set(property, type);
  }
  for (const type of typed.values()) {
    if (type !== target && type !== Object && planFor(type) === null) return null;
  }
  return typed;
}

/**
 * class-transformer's copy of an untyped JSON value (most of a Rasa tracker or a Lex session state): decided by one
 * set lookup per key instead of a descriptor lookup and an inherited property read on a fresh `{}`.
 */
function copyUntyped(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyUntyped);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (!PLAIN_OBJECT_SKIPPED.has(key)) copy[key] = copyUntyped((value as Record<string, unknown>)[key]);
  }
  return copy;
}

/** class-transformer's PLAIN_TO_CLASS of one JSON value towards `target` (undefined: untyped). */
function convert(value: unknown, target: Constructor | undefined): unknown {
  if (target === undefined || target === Object) return copyUntyped(value);
  if (Array.isArray(value)) return value.map((item: unknown) => convert(item, target));
  if (typeof value !== 'object' || value === null) return value;
  const instance = new target() as Record<string, unknown>;
  const typed = plans.get(target);
  const skipped = skippedKeys(target);
  for (const key of Object.keys(value)) {
    if (!skipped.has(key)) instance[key] = convert((value as Record<string, unknown>)[key], typed?.get(key));
  }
  return instance;
}

const skippedByClass = new Map<Constructor, ReadonlySet<string>>();

/**
 * The keys class-transformer does not copy onto an instance of `target`: `__proto__` and `constructor`, a key with a
 * descriptor without a setter on the class's prototype (a method or a getter), and one whose value on a fresh
 * instance is a function (an inherited method such as toString, or a field holding one). Only names on the
 * prototype chain or own fields of an instance can be either, so the set is found once per class.
 */
function skippedKeys(target: Constructor): ReadonlySet<string> {
  const cached = skippedByClass.get(target);
  if (cached) return cached;
  const sample = new target() as Record<string, unknown>;
  const prototype = target.prototype as object;
  const names = new Set(Object.keys(sample));
  for (let level: object | null = prototype; level !== null; level = Object.getPrototypeOf(level) as object | null) {
    for (const name of Object.getOwnPropertyNames(level)) names.add(name);
  }
  const skipped = new Set(['__proto__', 'constructor']);
  for (const name of names) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
    if ((descriptor && !descriptor.set) || sample[name] instanceof Function) skipped.add(name);
  }
  skippedByClass.set(target, skipped);
  return skipped;
}

/** What a plain object's copy leaves out: the members of Object.prototype, by the same rule as for a class. */
const PLAIN_OBJECT_SKIPPED = skippedKeys(Object);
