import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { type ConfigSection, emptyToUndefined, IsSecureServiceUrl, toInt } from '../../config';

/** The document archive that files statements (RequestStatement). */
export abstract class StatementArchiveOptions {
  /** Unset: statements get local references. */
  abstract readonly url?: string;
  abstract readonly timeoutMs: number;
}

class StatementArchiveVariables {
  /** Base URL of the document archive that files statements; unset: local references. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsSecureServiceUrl()
  STATEMENT_ARCHIVE_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  STATEMENT_ARCHIVE_TIMEOUT_MS = 10_000;
}

export const STATEMENT_ARCHIVE_OPTIONS: ConfigSection<StatementArchiveOptions, StatementArchiveVariables> = {
  provide: StatementArchiveOptions,
  variables: StatementArchiveVariables,
  build: (variables) => ({ url: variables.STATEMENT_ARCHIVE_URL, timeoutMs: variables.STATEMENT_ARCHIVE_TIMEOUT_MS }),
};
