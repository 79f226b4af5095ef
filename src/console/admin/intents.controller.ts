import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get, Query } from '@nestjs/common';
import { IsIn, IsOptional, MinLength } from 'class-validator';
import { PLATFORMS } from '../../common/platform';
import { IsFilterText } from './filter-text';
import {
  type IntentBucket,
  IntentStats,
  type IntentSummary,
  STATS_WINDOWS,
  type StatsWindow,
} from '../turn-log/intent-stats';

const WINDOWS = Object.keys(STATS_WINDOWS);

export class IntentsQuery {
  @IsOptional()
  @IsIn(WINDOWS)
  window?: StatsWindow;
}

export class IntentSeriesQuery extends IntentsQuery {
  @MinLength(1)
  @IsFilterText(200)
  intent!: string;

  /** Only this platform's turns of the intent (each platform has its own budget). */
  @IsOptional()
  @IsIn(PLATFORMS)
  platform?: string;
}

/**
 * Which intent got slow: p50/p95/p99 against the platform's budget, error and deadline-miss ratios, volume. Read
 * from the turn log's rollup (a row per minute, or per quarter of an hour over a day, per intent and platform), so
 * a day costs the same however busy it was; the percentiles come from its latency histograms, within 9 %.
 */
@Controller('api/intents')
export class IntentsController {
  constructor(private readonly stats: IntentStats) {}

  @ApiOperation({
    summary:
      "Each intent's p50/p95/p99 latency (from histograms: within 9 %) against its platform's budget, error and " +
      'deadline-miss ratios, throughput',
  })
  @Get()
  async summary(@Query() query: IntentsQuery): Promise<{ window: StatsWindow; intents: IntentSummary[] }> {
    const window = query.window ?? '1h';
    return { window, intents: await this.stats.summary(window) };
  }

  /** One intent over the window in buckets (a minute over an hour, 15 minutes over a day), for its charts. */
  @ApiOperation({
    summary:
      "One intent's figures per bucket (a minute over 1h, 15 minutes over 24h; percentiles within 9 %), for the charts",
  })
  @Get('series')
  async series(@Query() query: IntentSeriesQuery): Promise<{ window: StatsWindow; buckets: IntentBucket[] }> {
    const window = query.window ?? '1h';
    return { window, buckets: await this.stats.series(query.intent, window, query.platform) };
  }
}
