import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { CALLBACK_URL_MAX_LENGTH } from '../../common/limits';
import { toInt } from '../../config';
import { IsFilterText, IsHttpUrl } from './filter-text';

const DELIVERY_ID = /^msg_[0-9a-f]{32}$/;

export class DeliveriesQuery {
  @IsOptional()
  @IsIn(['pending', 'delivered', 'dead', 'disabled'])
  status?: 'pending' | 'delivered' | 'dead' | 'disabled';

  @IsOptional()
  @IsFilterText(64)
  caller?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

/** Dead (or disabled) deliveries to send again, from their first attempt. */
export class ReplayDeliveries {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Matches(DELIVERY_ID, { each: true, message: 'each id must look like msg_ followed by 32 hex digits' })
  ids!: string[];
}

/** A caller's callback URL to send nothing more to. */
export class DisableCallbackUrl {
  @IsFilterText(64)
  callerId!: string;

  /** As the callers file has it: any http(s) URL that parses (an underscore in a host name included). */
  @IsHttpUrl(CALLBACK_URL_MAX_LENGTH)
  url!: string;
}
