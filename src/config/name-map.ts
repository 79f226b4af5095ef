import { ValidateBy, type ValidationOptions } from 'class-validator';

/** `a=x,b=y` → `{a: 'x', b: 'y'}`: the comma-separated `name=name` lists some variables hold. */
export function parseNameMap(value: string | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of (value ?? '').split(',').filter(Boolean)) {
    const equals = pair.indexOf('=');
    map[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return map;
}

/** What is wrong with a `name=name` list (each pair must match `pair`, no name on the left twice), if anything. */
function nameMapProblem(value: unknown, pair: RegExp, shape: string): string | undefined {
  if (typeof value !== 'string') return `must be a comma-separated list of ${shape}`;
  const seen = new Set<string>();
  for (const entry of value.split(',')) {
    if (!pair.test(entry)) return `must be a comma-separated list of ${shape}`;
    const name = entry.slice(0, entry.indexOf('='));
    if (seen.has(name)) return `maps "${name}" more than once`;
    seen.add(name);
  }
  return undefined;
}

/** A comma-separated list of `name=name` pairs, each matching `pair`, each left-hand name once; `shape` names them. */
export function IsNameMap(pair: RegExp, shape: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNameMap',
      validator: {
        validate: (value: unknown) => nameMapProblem(value, pair, shape) === undefined,
        defaultMessage: (args) => nameMapProblem(args?.value, pair, shape) ?? `must be a list of ${shape}`,
      },
    },
    options,
  );
}
