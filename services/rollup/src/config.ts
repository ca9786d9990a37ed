// Rollup configuration (SPEC 7), validated once at start-up.
import {
  clickhouseShape,
  httpShape,
  loadConfigOrExit,
  loggingShape,
  parseEnv,
  positiveInt,
} from '@optout/config';
import { MARK_LATE_MS, MARK_SLACK_MS } from '@optout/events';
import { z } from 'zod';

/**
 * An instant may be swept only once every event that can change it either
 * landed or leaves a mark (MARK_LATE_MS), and that mark is taken into account
 * (MARK_SLACK_MS): docs/insights.md "Exposure". 5 s more for clocks.
 */
export const MIN_LAG_MS = MARK_LATE_MS + MARK_SLACK_MS + 5_000;

export const rollupShape = {
  ...clickhouseShape,
  ...httpShape(8082),
  ...loggingShape,
  /** How often each app's marks and progress are looked at. */
  EXPOSURE_ROLLUP_INTERVAL_MS: positiveInt(5_000),
  /** How old a quarter-hour instant must be before it is swept. */
  EXPOSURE_ROLLUP_LAG_MS: z.coerce.number().int().min(MIN_LAG_MS).default(120_000),
  /** A sweep again waits until no mark came for this long (a backfill marks round after round)... */
  EXPOSURE_ROLLUP_QUIET_MS: positiveInt(30_000),
  /** ...or until its oldest mark is this old. */
  EXPOSURE_ROLLUP_MAX_DELAY_MS: positiveInt(10 * 60_000),
  /** Days one step sweeps at most: its memory holds their pushes and 32 days before (4 bytes each). */
  EXPOSURE_ROLLUP_CHUNK_DAYS: z.coerce.number().int().min(1).max(366).default(30),
  SHUTDOWN_TIMEOUT_MS: positiveInt(30_000),
};

export type RollupConfig = z.infer<z.ZodObject<typeof rollupShape>>;

export function loadRollupConfig(env: NodeJS.ProcessEnv = process.env): RollupConfig {
  return loadConfigOrExit(() => parseEnv(rollupShape, env));
}
