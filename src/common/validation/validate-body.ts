import type { ClassConstructor } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { AppError, ErrorDetail } from '../errors/app-error';
import { toInstance } from './to-instance';
import { passesValidation } from './validity-plan';

const MAX_DETAILS = 20;

export function flattenValidationErrors(errors: readonly ValidationError[], prefix = ''): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const constraints = Object.values(error.constraints ?? {});
    if (constraints.length > 0 && (error.value === undefined || error.value === null)) {
      details.push({ field, problem: 'is required' });
      continue;
    }
    for (const constraint of constraints) {
      // class-validator starts each message with the bare property name; we already name the full path.
      const problem = constraint.startsWith(`${error.property} `)
        ? constraint.slice(error.property.length + 1)
        : constraint;
      details.push({ field, problem });
    }
    if (error.children?.length) details.push(...flattenValidationErrors(error.children, field));
  }
  return details;
}

/**
 * Validates a parsed JSON body against a DTO class. Unknown properties are kept and ignored: platforms add
 * fields without notice, and rejecting them would break a live bot. Synchronous: our DTOs have no async
 * validators, and the hot path should not pay for promises it does not need. A valid body is recognised by
 * the precompiled plan; class-validator itself runs only to word the errors of an invalid one.
 */
export function validateBody<T extends object>(dto: ClassConstructor<T>, body: unknown, what: string): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('VALIDATION_FAILED', `${what} must be a JSON object.`);
  }
  const instance = toInstance(dto, body);
  if (passesValidation(instance)) return instance;
  const errors = validateSync(instance, {
    whitelist: false,
    forbidNonWhitelisted: false,
    forbidUnknownValues: false,
  });
  if (errors.length > 0) {
    const details = flattenValidationErrors(errors).slice(0, MAX_DETAILS);
    const fields = [...new Set(details.map((d) => d.field))].join(', ');
    throw new AppError('VALIDATION_FAILED', `${what} is invalid: ${fields}.`, details);
  }
  return instance;
}
