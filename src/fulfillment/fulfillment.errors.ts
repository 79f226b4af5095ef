/** Start-up errors of the intent registry: each says what to fix. */
export class IntentRegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntentRegistrationError';
  }
}

export class DuplicateIntentHandlerError extends IntentRegistrationError {
  constructor(intent: string, one: string, other: string) {
    const [first, second] = [one, other].sort();
    super(`Intent "${intent}" has two handlers: ${first} and ${second}. Keep exactly one @IntentHandler('${intent}').`);
  }
}

export class InvalidIntentHandlerError extends IntentRegistrationError {
  constructor(className: string, reason: string) {
    super(`${className} is marked @IntentHandler but ${reason}.`);
  }
}
