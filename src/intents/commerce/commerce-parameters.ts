export const COMMERCE_SOURCE = 'commerce-api';
const REFERENCE = /^[\p{L}\p{N} ._'-]{1,100}$/u;

function text(value: unknown): string | undefined {
  const candidate = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  return REFERENCE.test(candidate) ? candidate : undefined;
}

export function productReference(parameters: Readonly<Record<string, unknown>>): string | undefined {
  return text(parameters.sku) ?? text(parameters.product);
}

export function orderNumber(value: unknown): string | undefined {
  const candidate = text(value);
  return candidate && /^[A-Za-z0-9-]{3,32}$/.test(candidate) ? candidate.toUpperCase() : undefined;
}

export function postcode(value: unknown): string | undefined {
  const candidate = text(value);
  return candidate && /^[A-Za-z0-9 -]{3,10}$/.test(candidate) ? candidate.toUpperCase() : undefined;
}
