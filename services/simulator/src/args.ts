// Command-line arguments of `npm run simulate`, parsed with node:util parseArgs
// into a typed, validated object; a bad argument is an ArgsError naming it.
import { parseArgs } from 'node:util';

export class ArgsError extends Error {
  override name = 'ArgsError';
}

export type Mode = 'backfill' | 'live' | 'both';

export interface SimulatorArgs {
  apps: number;
  users: number;
  campaigns: number;
  days: number;
  rate: number;
  seed: number;
  endMs: number;
  mode: Mode;
  liveSeconds: number | undefined;
  batchSize: number;
  outOfOrder: number;
  duplicates: number;
  malformed: number;
  dryRun: boolean;
  acks: number;
  help: boolean;
}

export const USAGE = `usage: npm run simulate -- [options]

Realistic opt-out event streams for the four input topics (Avro, keyed <app_id>:<user_id>).
Backfills --days of history as fast as possible, then keeps a live trickle of --rate events/s.

  --apps N            apps (tenants)                                    (default 3)
  --users N           users in total, spread over the apps              (default 5000)
  --campaigns N       campaigns per app (some bad, some good)           (default 12)
  --days N            days of history before today                      (default 30)
  --rate N            live events per second (0 = no live trickle)      (default 50)
  --seed N            same seed (and --end), same events                (default 1)
  --end ISO           end of the history (default: now), e.g. 2025-03-01T12:00:00Z
  --mode M            backfill | live | both                            (default both)
  --live-seconds N    stop the live trickle after N seconds             (default: until Ctrl-C)
  --batch-size N      records per Kafka request                         (default 5000)
  --out-of-order P    share of events delivered late, across topics     (default 0)
  --duplicates P      share of events delivered twice (same event_id)   (default 0)
  --malformed P       share of malformed records (garbage bytes, unknown
                      schema id, missing app_id), 0..0.5                (default 0)
  --acks N            Kafka acks: -1 (all) or 1 (leader)                (default -1)
  --dry-run           generate only, send nothing (measures generation speed)
  -h, --help          this text

Kafka and topics come from the environment: KAFKA_BROKERS, TOPIC_PUSH_SENT, TOPIC_CAMPAIGN_INTERACTION,
TOPIC_APP_EVENT, TOPIC_CONSENT_CHANGE, SCHEMA_REGISTRY_URL.`;

function intArg(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw.trim()))
    throw new ArgsError(`--${name} must be an integer (got ${JSON.stringify(raw)})`);
  const value = Number(raw);
  if (value < min || value > max) throw new ArgsError(`--${name} must be in ${min}..${max} (got ${value})`);
  return value;
}

function numberArg(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw new ArgsError(`--${name} must be a number (got ${JSON.stringify(raw)})`);
  }
  if (value < min || value > max) throw new ArgsError(`--${name} must be in ${min}..${max} (got ${value})`);
  return value;
}

export function parseSimulatorArgs(argv: string[], now: number = Date.now()): SimulatorArgs {
  const v = rawValues(argv);
  const mode = v.mode ?? 'both';
  if (mode !== 'backfill' && mode !== 'live' && mode !== 'both') {
    throw new ArgsError(`--mode must be backfill, live or both (got ${JSON.stringify(mode)})`);
  }
  let endMs = now;
  if (v.end !== undefined) {
    endMs = Date.parse(v.end);
    if (!Number.isFinite(endMs))
      throw new ArgsError(`--end must be an ISO date-time (got ${JSON.stringify(v.end)})`);
  }
  const args: SimulatorArgs = {
    apps: intArg('apps', v.apps, 3, 1, 1000),
    users: intArg('users', v.users, 5000, 1, 10_000_000),
    campaigns: intArg('campaigns', v.campaigns, 12, 0, 1000),
    days: intArg('days', v.days, 30, 0, 3660),
    rate: numberArg('rate', v.rate, 50, 0, 1_000_000),
    seed: intArg('seed', v.seed, 1, 0, 2 ** 32 - 1),
    endMs,
    mode,
    liveSeconds:
      v['live-seconds'] === undefined ? undefined : numberArg('live-seconds', v['live-seconds'], 0, 0, 1e9),
    batchSize: intArg('batch-size', v['batch-size'], 5000, 1, 1_000_000),
    outOfOrder: numberArg('out-of-order', v['out-of-order'], 0, 0, 1),
    duplicates: numberArg('duplicates', v.duplicates, 0, 0, 1),
    malformed: numberArg('malformed', v.malformed, 0, 0, 0.5),
    acks: intArg('acks', v.acks, -1, -1, 1),
    dryRun: v['dry-run'] ?? false,
    help: v.help ?? false,
  };
  if (args.users < args.apps)
    throw new ArgsError(`--users (${args.users}) must be at least --apps (${args.apps})`);
  if (args.acks === 0) throw new ArgsError('--acks must be -1 or 1 (0 would lose records silently)');
  return args;
}

function rawValues(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ArgsError((error as Error).message);
  }
}

const OPTIONS = {
  apps: { type: 'string' },
  users: { type: 'string' },
  campaigns: { type: 'string' },
  days: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  end: { type: 'string' },
  mode: { type: 'string' },
  'live-seconds': { type: 'string' },
  'batch-size': { type: 'string' },
  'out-of-order': { type: 'string' },
  duplicates: { type: 'string' },
  malformed: { type: 'string' },
  acks: { type: 'string' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
