const DEFAULT_ACTION = /^action_([a-z0-9]+(?:_[a-z0-9]+)*)$/;
const PASCAL_CASE = /^[A-Z][A-Za-z0-9]*$/;

/**
 * The default rule: `action_get_account_balance` → `GetAccountBalance` (drop `action_`, snake_case to
 * PascalCase). Only lower-case snake_case names after `action_` follow it; any other name needs an entry
 * in the configured map (`RASA_ACTIONS`).
 */
export function defaultIntentFor(actionName: string): string | undefined {
  const words = DEFAULT_ACTION.exec(actionName)?.[1]?.split('_');
  return words?.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
}

/**
 * The inverse of the default rule: `GetAccountBalance` → `action_get_account_balance`. Undefined for an
 * intent the default rule cannot reach (not PascalCase, e.g. `greet` or `bank.balance`).
 */
export function defaultActionFor(intent: string): string | undefined {
  if (!PASCAL_CASE.test(intent)) return undefined;
  const name = `action_${intent.replace(/(?<!^)([A-Z])/g, '_$1').toLowerCase()}`;
  return defaultIntentFor(name) === intent ? name : undefined;
}

/**
 * Maps Rasa action names to our intents: the configured map first, then the default rule. The configured map
 * wins, so it can also send a default-looking name to another intent.
 */
export class RasaActionMap {
  constructor(private readonly configured: Readonly<Record<string, string>>) {}

  intentFor(actionName: string): string | undefined {
    return Object.hasOwn(this.configured, actionName) ? this.configured[actionName] : defaultIntentFor(actionName);
  }

  /**
   * Every action name that reaches one of the given (registered) intents, sorted: the default name of each
   * intent (unless the configured map sends it elsewhere) and every configured name whose intent is registered.
   */
  actionNames(intents: readonly string[]): string[] {
    const registered = new Set(intents);
    const candidates = [
      ...Object.keys(this.configured),
      ...intents.map(defaultActionFor).filter((name): name is string => name !== undefined),
    ];
    const reachable = candidates.filter((name) => {
      const intent = this.intentFor(name);
      return intent !== undefined && registered.has(intent);
    });
    return [...new Set(reachable)].sort();
  }
}
