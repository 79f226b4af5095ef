import { ValidateBy, type ValidationOptions } from 'class-validator';
import { FREE_TEXT_MAX_LENGTH, NAME_MAX_LENGTH } from './bounds';

/** Keys of one parameter or attribute map: far above what a bot defines for one turn. */
export const MAP_MAX_KEYS = 500;
/** Items of a list inside one (a list parameter's values). */
export const MAP_MAX_LIST_ITEMS = 1_000;
/** Keys, items and values inside one map, at every depth together. */
export const MAP_MAX_ENTRIES = 10_000;

/** Why a parameter map is refused, or undefined when it is within every bound. */
export function boundedObjectProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  if (Object.keys(value).length > MAP_MAX_KEYS) return `must have at most ${MAP_MAX_KEYS} keys`;
  let entries = 0;
  const walk = (node: unknown): string | undefined => {
    if (++entries > MAP_MAX_ENTRIES) return `must hold at most ${MAP_MAX_ENTRIES} values in all`;
    if (typeof node === 'string') {
      return node.length > FREE_TEXT_MAX_LENGTH ? `must hold no text longer than ${FREE_TEXT_MAX_LENGTH}` : undefined;
    }
    if (typeof node !== 'object' || node === null) return undefined;
    if (Array.isArray(node)) {
      if (node.length > MAP_MAX_LIST_ITEMS) return `must hold no list longer than ${MAP_MAX_LIST_ITEMS}`;
      for (const item of node) {
        const problem = walk(item);
        if (problem) return problem;
      }
      return undefined;
    }
    for (const [key, child] of Object.entries(node)) {
      if (key.length > NAME_MAX_LENGTH) return `must have no key longer than ${NAME_MAX_LENGTH}`;
      const problem = walk(child);
      if (problem) return problem;
    }
    return undefined;
  };
  return walk(value);
}

/**
 * A parameter, slot or attribute map: an object with at most MAP_MAX_KEYS keys of at most NAME_MAX_LENGTH
 * characters, no text longer than FREE_TEXT_MAX_LENGTH and no list longer than MAP_MAX_LIST_ITEMS at any depth,
 * MAP_MAX_ENTRIES values in all (the body's nesting is bounded apart: JSON_MAX_DEPTH).
 */
export function IsBoundedObject(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isBoundedObject',
      validator: {
        validate: (value: unknown) => boundedObjectProblem(value) === undefined,
        defaultMessage: (args) => `${args?.property ?? 'value'} ${boundedObjectProblem(args?.value) ?? 'is invalid'}`,
      },
    },
    options,
  );
}
