import {
  BrokenCircuitError,
  circuitBreaker,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
} from 'cockatiel';
import { CircuitOpenError } from './outbound.errors';
import { untilAborted } from './until-aborted';

/**
 * The caller gave up during a circuit's trial call (half-open). cockatiel closes the circuit on an error its
 * policy does not handle ("task failed successfully"), so a trial cut short by the turn's deadline closed a
 * circuit whose downstream never answered. Counted as the trial's failure; the caller gets its own reason.
 */
class TrialAbandoned extends Error {
  constructor(readonly reason: unknown) {
    super('the caller gave up during the trial call');
  }
}

export interface CircuitSettings {
  /** Errors that say something about the downstream's health. */
  readonly failsOn: (error: Error) => boolean;
  /** Answers that count as failures although the call resolved (an HTTP 5xx). */
  readonly failsOnResult?: (result: unknown) => boolean;
  readonly breakAfterFailures: number;
  readonly halfOpenAfterMs: number;
}

/** Each circuit's wait before a trial, for the refusals to tell callers that would put a call off. */
const halfOpenAfter = new WeakMap<CircuitBreakerPolicy, number>();

/** Opens after consecutive failures; a trial the caller gives up on counts as one of them. */
export function consecutiveFailuresCircuit(settings: CircuitSettings): CircuitBreakerPolicy {
  const policy = handleWhen((error) => error instanceof TrialAbandoned || settings.failsOn(error));
  const { failsOnResult } = settings;
  const circuit = circuitBreaker(failsOnResult ? policy.orWhenResult(failsOnResult) : policy, {
    halfOpenAfter: settings.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(settings.breakAfterFailures),
  });
  halfOpenAfter.set(circuit, settings.halfOpenAfterMs);
  return circuit;
}

/**
 * Runs `work` through `circuit`, refusing at once with `CircuitOpenError(key)` while the circuit is open or a
 * trial is under way (cockatiel would have the call wait for the whole trial, seconds against a dead API, and
 * then refuse it). `work` learns whether it is the trial, which only asks whether the downstream answers again.
 */
export async function throughCircuit<T>(
  circuit: CircuitBreakerPolicy,
  key: string,
  signal: AbortSignal | undefined,
  work: (trial: boolean) => Promise<T>,
): Promise<T> {
  if (circuit.state === CircuitState.HalfOpen) throw new CircuitOpenError(key, halfOpenAfter.get(circuit));
  const pending = circuit.execute(async () => {
    // cockatiel calls this before it marks the state half-open: any state but closed means this is the trial.
    const trial = circuit.state !== CircuitState.Closed;
    try {
      return await work(trial);
    } catch (error: unknown) {
      throw trial && signal?.aborted ? new TrialAbandoned(error) : error;
    }
  }, signal);
  try {
    return await untilAborted(pending, signal);
  } catch (error: unknown) {
    if (error instanceof BrokenCircuitError) throw new CircuitOpenError(key, halfOpenAfter.get(circuit));
    if (error instanceof TrialAbandoned) throw error.reason;
    throw error;
  }
}
