/**
 * An independent check of a Rasa action server response (`POST /webhook`), as Rasa itself validates it before it
 * applies the result: `RemoteAction.action_response_format_spec()` in rasa/core/actions/action.py is
 *
 *   { type: object, properties: { events: EVENTS_SCHEMA, responses: { type: array, items: { type: object } } } }
 *
 * and EVENTS_SCHEMA (rasa/shared/utils/schemas/events.py) is an array of EVENT_SCHEMA: an object with a required
 * string `event`, `timestamp` number or null, `metadata` object or null, that matches exactly one (`oneOf`) of the
 * event schemas, each pinned by `"event": {"const": <type name>}` — so an event type Rasa does not know fails.
 * The per-type properties checked below are the ones those schemas declare (e.g. `slot` requires `name` and
 * `value`; `entities` requires an `entities` array of objects with `entity` and `value`).
 * See also the Rasa docs, "Action Server HTTP API" (response body: `events`, `responses`).
 */

type Json = unknown;
type TypeName = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null' | 'integer';
type Properties = Record<string, readonly TypeName[]>;

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function typeOf(value: Json): TypeName[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') return Number.isInteger(value) ? ['number', 'integer'] : ['number'];
  return [typeof value as TypeName];
}

const S = ['string'] as const;
const S0 = ['string', 'null'] as const;
const N0 = ['number', 'null'] as const;

/** The event types of EVENTS_SCHEMA and the typed properties each declares (beyond `event`). */
const EVENT_TYPES: Record<string, { properties?: Properties; required?: string[] }> = {
  user: { properties: { text: S0, input_channel: S0, message_id: S0, parse_data: ['object'] } },
  action: { properties: { policy: S0, confidence: N0, name: S0, hide_rule_turn: ['boolean'], action_text: S0 } },
  slot: { properties: { name: S }, required: ['name', 'value'] },
  entities: { properties: { entities: ['array'] }, required: ['entities'] },
  user_featurization: {},
  cancel_reminder: {},
  reminder: {},
  action_execution_rejected: {},
  form_validation: {},
  loop_interrupted: {},
  form: {},
  active_loop: {},
  reset_slots: {},
  resume: {},
  pause: {},
  followup: {},
  export: {},
  restart: {},
  undo: {},
  rewind: {},
  bot: {},
  session_started: {},
  session_ended: {},
  agent: {},
  flow_started: { properties: { flow_id: S } },
  flow_interrupted: { properties: { flow_id: S, step_id: S } },
  flow_resumed: { properties: { flow_id: S, step_id: S } },
  flow_completed: { properties: { flow_id: S, step_id: S } },
  flow_cancelled: { properties: { flow_id: S, step_id: S } },
  stack: { properties: { update: S } },
  routing_session_ended: {},
  error: {},
};

function checkProperties(value: Record<string, Json>, properties: Properties, path: string, errors: string[]): void {
  for (const [name, types] of Object.entries(properties)) {
    if (value[name] === undefined) continue;
    if (!typeOf(value[name]).some((t) => types.includes(t))) {
      errors.push(`${path}.${name}: expected ${types.join(' or ')}, got ${JSON.stringify(value[name])}`);
    }
  }
}

function checkEvent(value: Json, path: string, errors: string[]): void {
  if (!isObject(value)) {
    errors.push(`${path}: expected an object`);
    return;
  }
  if (typeof value.event !== 'string') {
    errors.push(`${path}.event: required string`);
    return;
  }
  checkProperties(value, { timestamp: N0, metadata: ['object', 'null'] }, path, errors);
  const type = EVENT_TYPES[value.event];
  if (!type) {
    errors.push(`${path}.event: "${value.event}" is not an event type Rasa knows`);
    return;
  }
  for (const name of type.required ?? [])
    if (!(name in value)) errors.push(`${path}.${name}: required for a "${value.event}" event`);
  checkProperties(value, type.properties ?? {}, path, errors);
  if (value.event === 'entities' && Array.isArray(value.entities)) {
    value.entities.forEach((entity: Json, i) => {
      if (!isObject(entity) || typeof entity.entity !== 'string' || !('value' in entity)) {
        errors.push(`${path}.entities[${i}]: expected an object with "entity" (string) and "value"`);
      }
    });
  }
}

/** The ways `json` departs from Rasa's action server response schema (empty when it conforms). */
export function rasaActionResponseErrors(json: Json): string[] {
  const errors: string[] = [];
  if (!isObject(json)) return ['response: expected an object'];
  if (json.events !== undefined) {
    if (!Array.isArray(json.events)) errors.push('events: expected an array');
    else json.events.forEach((event: Json, i) => checkEvent(event, `events[${i}]`, errors));
  }
  if (json.responses !== undefined) {
    if (!Array.isArray(json.responses)) errors.push('responses: expected an array');
    else
      json.responses.forEach((item: Json, i) => isObject(item) || errors.push(`responses[${i}]: expected an object`));
  }
  return errors;
}
