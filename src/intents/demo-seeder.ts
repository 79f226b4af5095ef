import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';

/** Loads one domain's demo data; must be idempotent (safe to run on a seeded database). */
export interface DemoSeeder {
  readonly name: string;
  /** True when the domain has no data yet. */
  isEmpty(manager: EntityManager): Promise<boolean>;
  seed(manager: EntityManager): Promise<void>;
  /** Brings data that is relative to today up to date on a seeded database (run at each seeding start-up). */
  refresh?(manager: EntityManager): Promise<void>;
}

/** A stable UUID derived from a label, so re-running a seed never duplicates rows. */
export function demoId(label: string): string {
  const hex = createHash('sha256').update(`demo:${label}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
