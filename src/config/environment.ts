import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const normalised = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(normalised)) return true;
  if (['false', '0', 'no'].includes(normalised)) return false;
  return value;
};

const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'verbose'] as const;

/**
 * The process environment as the service accepts it. Every variable the service reads is declared here,
 * validated once at start-up, and read nowhere else.
 */
export class Environment {
  @IsIn(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8080;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  HOST?: string;

  /** Set when TLS ends at a trusted proxy or service mesh in front of the service. */
  @Transform(toBool)
  @IsBoolean()
  TLS_TERMINATED_UPSTREAM = false;

  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^postgres(ql)?:\/\/[^\s]+$/, { message: 'must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE = 10;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  DB_STATEMENT_TIMEOUT_MS = 3000;

  @Transform(toBool)
  @IsBoolean()
  DB_MIGRATIONS_RUN = true;

  /** Seed demo data into an empty database at start-up; defaults to on for the embedded database only. */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  SEED_DEMO_DATA?: boolean;

  @IsString()
  @MinLength(1)
  EMBEDDED_PG_DATA_DIR = '.data/postgres';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  CALLERS_FILE?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(50 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(5000)
  DIALOGFLOW_ES_DEADLINE_MS = 4500;

  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  FALLBACK_TEXT = "Sorry, I can't help with that yet. Could you try asking another way?";

  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  ERROR_TEXT = 'Sorry, something went wrong on our side. Please try again in a moment.';

  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  INTERIM_TEXT = "I'm still working on that. Please ask me again in a moment.";

  @IsString()
  @MinLength(1)
  @MaxLength(100)
  RESPONSE_SOURCE = 'webhook-fulfillment';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';
}

/** Variables whose values must never be echoed back in an error message. */
export const SECRET_VARIABLES: ReadonlySet<keyof Environment> = new Set(['DATABASE_URL']);
