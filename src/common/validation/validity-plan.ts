import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import type { ConstraintMetadata } from 'class-validator/types/metadata/ConstraintMetadata';

/**
 * class-validator's verdict (valid or not) for `validateSync(object, { forbidUnknownValues: false })`, decided
 * with the very constraint functions class-validator calls, but from a plan built once per class: the
 * per-call metadata lookup, grouping and error objects were most of a turn's validation cost. It answers
 * only "is it valid"; an invalid object goes through class-validator itself for the messages
 * (`validate-body.ts`), so errors are class-validator's, word for word. `validity-plan.spec.ts` checks the
 * two verdicts agree on every fixture and on thousands of mutations of them.
 */
export function passesValidation(object: object): boolean {
  for (const property of planFor(object.constructor)) {
    if (!propertyPasses(object, (object as Record<string, unknown>)[property.property], property)) return false;
  }
  return true;
}

interface ConstraintCheck {
  readonly metadata: ValidationMetadata;
  readonly validators: readonly ConstraintMetadata[];
  /** Reused for every call (validators are synchronous and keep nothing): one object less per check. */
  readonly args: { -readonly [K in keyof ValidationArguments]: ValidationArguments[K] };
}

interface PropertyPlan {
  readonly property: string;
  readonly conditions: readonly ValidationMetadata[];
  /** IS_DEFINED checks, which class-validator runs before (and apart from) the others. */
  readonly defined: readonly ConstraintCheck[];
  readonly custom: readonly ConstraintCheck[];
  /** Whether the property has a @ValidateNested rule (several rules validate alike). */
  readonly nested: boolean;
}

const plans = new WeakMap<object, readonly PropertyPlan[]>();

function planFor(target: object): readonly PropertyPlan[] {
  let plan = plans.get(target);
  if (plan === undefined) {
    plan = buildPlan(target as new () => object);
    plans.set(target, plan);
  }
  return plan;
}

function check(metadata: ValidationMetadata, targetName: string | undefined): ConstraintCheck {
  const storage = getMetadataStorage();
  return {
    metadata,
    // validateSync skips asynchronous constraints, and so do we.
    validators: storage.getTargetValidatorConstraints(metadata.constraintCls).filter((validator) => !validator.async),
    args: {
      targetName: targetName as string,
      property: metadata.propertyName,
      object: undefined as unknown as object,
      value: undefined,
      constraints: metadata.constraints,
    },
  };
}

function buildPlan(target: new () => object): readonly PropertyPlan[] {
  const storage = getMetadataStorage();
  // The same selection validateSync makes for an object of this class with no groups and `always` off.
  const grouped = storage.groupByPropertyName(
    storage.getTargetValidationMetadatas(target, undefined as unknown as string, false, false, undefined),
  );
  return Object.keys(grouped).map((property) => {
    const of = (type: string) => grouped[property].filter((m) => m.type === type);
    return {
      property,
      conditions: of(ValidationTypes.CONDITIONAL_VALIDATION),
      defined: of(ValidationTypes.IS_DEFINED).map((m) => check(m, target.name)),
      custom: of(ValidationTypes.CUSTOM_VALIDATION).map((m) => check(m, target.name)),
      nested: of(ValidationTypes.NESTED_VALIDATION).length > 0,
    };
  });
}

function propertyPasses(object: object, value: unknown, plan: PropertyPlan): boolean {
  for (const condition of plan.conditions) {
    if (!(condition.constraints[0] as (object: object, value: unknown) => boolean)(object, value)) return true;
  }
  return (
    constraintsPass(object, value, plan.defined) &&
    constraintsPass(object, value, plan.custom) &&
    (!plan.nested || nestedPass(value))
  );
}

function constraintsPass(object: object, value: unknown, checks: readonly ConstraintCheck[]): boolean {
  for (const { metadata, validators, args } of checks) {
    if (metadata.validateIf && !metadata.validateIf(object, value)) continue;
    args.object = object;
    args.value = value;
    const each = metadata.each && (Array.isArray(value) || value instanceof Set || value instanceof Map);
    for (const validator of validators) {
      if (each) {
        for (const item of value instanceof Map ? value.values() : (value as Iterable<unknown>)) {
          if (!verdict(validator.instance.validate(item, args))) return false;
        }
      } else if (!verdict(validator.instance.validate(value, args))) {
        return false;
      }
    }
  }
  return true;
}

/** A constraint's answer; a promise is one validateSync does not wait for (so it fails nothing). */
function verdict(result: unknown): boolean {
  return result instanceof Promise || Boolean(result);
}

function nestedPass(value: unknown): boolean {
  if (value === undefined) return true;
  if (Array.isArray(value) || value instanceof Set || value instanceof Map) {
    // class-validator validates each element with the same nested rule (and no conditions or constraints).
    for (const item of value instanceof Map ? value.values() : (value as Iterable<unknown>)) {
      if (!nestedPass(item)) return false;
    }
    return true;
  }
  return value instanceof Object && passesValidation(value);
}
