import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { PLATFORMS } from '../../common/platform';
import { toInt } from '../../config';
import { MAX_CAPTURE_MINUTES } from '../capture/capture-rules';

/** A bigint id in a path (a turn's or a capture rule's). */
export class NumericIdParam {
  @Matches(/^[1-9]\d{0,17}$/, { message: 'id must be a positive whole number' })
  id!: string;
}

/** Capture for a platform, a caller, or a caller on a platform, for a while (at least one of the two is given). */
export class StartCapture {
  @IsOptional()
  @IsIn(PLATFORMS)
  platform?: string;

  @IsOptional()
  @MaxLength(128)
  @Matches(/^[\w.:@-]+$/, { message: 'callerId must be a caller id (letters, digits, . _ : @ -)' })
  callerId?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(MAX_CAPTURE_MINUTES)
  minutes!: number;
}
