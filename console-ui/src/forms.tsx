// Filter forms: their fields, read on submit into the page's address (so a search can be bookmarked), and set
// again from it when the address changes.
import type { ComponentChildren, TargetedSubmitEvent } from 'preact';
import { fromLocalInput, toLocalInput } from './format';

/** The form's non-empty fields; `datetime-local` ones as ISO instants. */
export function formValues(form: HTMLFormElement): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  for (const element of Array.from(form.elements)) {
    if (!(element instanceof HTMLInputElement || element instanceof HTMLSelectElement) || !element.name) continue;
    const value = element.value.trim();
    values[element.name] =
      element instanceof HTMLInputElement && element.type === 'datetime-local'
        ? fromLocalInput(value)
        : value || undefined;
  }
  return values;
}

export function onSubmitTo(go: (values: Record<string, string | undefined>) => void) {
  return (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    go(formValues(event.currentTarget));
  };
}

interface FieldProps {
  readonly name: string;
  readonly label: string;
  readonly value: string | null;
  readonly hint?: string;
}

function Hint({ id, hint }: { id: string; hint?: string }) {
  return hint ? (
    <span class="hint" id={`${id}-hint`}>
      {hint}
    </span>
  ) : null;
}

export function TextField({ name, label, value, hint, maxLength }: FieldProps & { maxLength?: number }) {
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="text"
        defaultValue={value ?? ''}
        maxLength={maxLength}
        aria-describedby={hint ? `${id}-hint` : undefined}
        autocomplete="off"
        spellcheck={false}
      />
      <Hint id={id} hint={hint} />
    </div>
  );
}

export function NumberField({ name, label, value, hint, min, max }: FieldProps & { min: number; max: number }) {
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="number"
        inputMode="numeric"
        defaultValue={value ?? ''}
        min={min}
        max={max}
        aria-describedby={hint ? `${id}-hint` : undefined}
      />
      <Hint id={id} hint={hint} />
    </div>
  );
}

export function TimeField({ name, label, value }: FieldProps) {
  const id = `field-${name}`;
  return (
    <div class="field field-time">
      <label for={id}>{label}</label>
      <input id={id} name={name} type="datetime-local" defaultValue={toLocalInput(value)} />
    </div>
  );
}

export function SelectField({
  name,
  label,
  value,
  options,
  any,
}: FieldProps & { options: readonly string[]; any: string }) {
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} name={name}>
        <option value="" selected={!value}>
          {any}
        </option>
        {options.map((option) => (
          <option key={option} value={option} selected={option === value}>
            {option}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A search form: its fields in a grid, then Search and Clear. */
export function FilterForm({
  label,
  onSearch,
  clearHref,
  children,
}: {
  label: string;
  onSearch: (values: Record<string, string | undefined>) => void;
  clearHref: string;
  children: ComponentChildren;
}) {
  return (
    <form class="filters" role="search" aria-label={label} onSubmit={onSubmitTo(onSearch)}>
      <div class="filter-fields">{children}</div>
      <div class="filter-actions">
        <button type="submit" class="button">
          Search
        </button>
        <a class="button button-quiet" href={clearHref}>
          Clear
        </a>
      </div>
    </form>
  );
}
