/**
 * Tells a handler failure that will pass by itself (the database refusing for a while: unreachable, out of disk,
 * a lock held too long) from a defect in the handler. The dispatcher logs the first as a warning naming its cause
 * and the second as an error with its stack, so an incident does not read as a bug on every turn it touches. The
 * composition root provides it (the fulfillment module knows no database); without it every failure is an error.
 */
export abstract class PassingFailures {
  /** Why `error` will pass, in a few words an operator can act on; undefined when it is no such failure. */
  abstract causeOf(error: unknown): string | undefined;
}
