// The admin API's shapes, as the console reads them (dates arrive as ISO strings).

export type Role = 'viewer' | 'operator';

export interface Session {
  readonly subject: string;
  readonly name: string;
  readonly roles: readonly Role[];
  readonly via: 'oidc' | 'local';
  readonly csrfToken: string;
  readonly csrfHeader: string;
  /** A trace's page, `{traceId}` standing for its id (ADMIN_TRACE_URL). */
  readonly traceUrl?: string;
}

export const PLATFORMS = ['dialogflow-es', 'dialogflow-cx', 'lex-v2', 'rasa', 'generic'] as const;

export const OUTCOMES = [
  'fulfilled',
  'fallback',
  'failed',
  'delegated',
  'timed-out',
  'queued',
  'replayed',
  'degraded',
  'busy',
  'error',
] as const;

export interface TurnRow {
  readonly id: string;
  readonly at: string;
  readonly requestId: string;
  readonly traceId: string | null;
  readonly platform: string;
  readonly intent: string;
  readonly callerId: string;
  readonly outcome: string;
  readonly durationMs: number;
  readonly budgetMs: number;
  /** Whether a capture rule kept this turn's bodies (absent from servers that do not capture). */
  readonly captured?: boolean;
}

export interface TurnPage {
  readonly turns: TurnRow[];
  readonly next?: string;
}

export interface Capture {
  readonly request: unknown;
  readonly response: unknown;
  readonly responseStatus?: number | null;
  readonly path: string;
  readonly curl: string;
  /** Whether this instance offers sending the request again (development); absent: try, and learn from a 404. */
  readonly canSendAgain?: boolean;
}

export interface TurnDetail {
  readonly turn: TurnRow;
  readonly capture: Capture | null;
}

export interface CaptureRule {
  readonly id: string;
  readonly platform: string | null;
  readonly callerId: string | null;
  readonly expiresAt: string;
  readonly createdBy: string;
  readonly createdAt: string;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'disabled'] as const;

export interface Delivery {
  readonly id: string;
  readonly callerId: string;
  readonly status: string;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly url: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface AuditEvent {
  readonly id: string;
  readonly occurredAt: string;
  readonly event: string;
  readonly callerId: string;
  readonly method: string | null;
  readonly outcome: string;
  readonly reason: string | null;
  readonly remoteAddress: string | null;
  readonly requestId: string | null;
  readonly traceId: string | null;
  readonly detail: string | null;
  readonly route: string | null;
  readonly dropped: number | null;
}

export type StatsWindow = '1h' | '24h';

export interface IntentSummary {
  readonly platform: string;
  readonly intent: string;
  readonly turns: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly budgetMs: number;
  readonly errorRatio: number;
  readonly deadlineMissRatio: number;
  readonly turnsPerMinute: number;
}

export interface IntentBucket {
  readonly at: string;
  readonly turns: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly deadlineMisses: number;
}

export interface ReplicaState {
  readonly name: string;
  readonly up: boolean;
  readonly readable: boolean;
  readonly lagMs?: number;
  readonly replayed?: string;
  readonly error?: string;
}

export interface HealthView {
  readonly readiness: { readonly status: 'ok' | 'error'; readonly details: Readonly<Record<string, unknown>> };
  readonly pool?: { inUse: number; idle: number; waiting: number };
  readonly queues?: { queue: string; size: number }[];
  readonly replicas: ReplicaState[];
}
