// `npm run bench -- [--scale small|full] [--only ingest,freshness,state,query]`
// (`--only cluster`: on the local cluster, which it starts; not in the default set).
// Runs the benchmarks against the local stack (or KAFKA_BROKERS / CLICKHOUSE_URL),
// prints a table and one JSON summary, and writes the summary to
// artifacts/bench/summary-<timestamp>.json and artifacts/bench/latest.json.
// Every load is bounded in count and time and runs on loopback; a component
// that does not exist yet makes its section "not available", not a failure.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectionFromEnv, stackUp } from '../infra/local/stack.ts';
import { REPO_ROOT } from '../services/simulator/src/processes.ts';
import { benchBackfill } from './backfill.ts';
import { benchCluster } from './cluster.ts';
import { type Connection, NotAvailable, type Scale, type SectionResult } from './common.ts';
import { benchFreshness } from './freshness.ts';
import { benchIngest } from './ingest.ts';
import { benchQuery, type QueryBenchOptions } from './query.ts';
import { benchRestore } from './restore.ts';
import { benchState } from './state.ts';
import { round } from './stats.ts';

const SECTIONS = ['ingest', 'freshness', 'state', 'restore', 'backfill', 'query', 'cluster'] as const;
type Section = (typeof SECTIONS)[number];
/** Without --only: everything on the single-node stack (the cluster needs the machine to itself). */
const DEFAULT_SECTIONS = SECTIONS.filter((s) => s !== 'cluster');

interface ScaleSettings {
  ingest: { events: number; runs: number };
  freshness: { rate: number; seconds: number };
  state: { users: number; days: number; runs: number };
  restore: { users: number; runs: number };
  backfill: { users: number; days: number };
  query: QueryBenchOptions;
  cluster: { events: number };
}

export const SCALES: Record<Scale, ScaleSettings> = {
  small: {
    ingest: { events: 20_000, runs: 1 },
    freshness: { rate: 1_000, seconds: 5 },
    state: { users: 500, days: 30, runs: 1 },
    restore: { users: 10_000, runs: 1 },
    backfill: { users: 100, days: 365 },
    query: { optOuts: 5_000, users: 50_000, exportRows: 10_000, requests: 5, reachRows: 50_000 },
    cluster: { events: 20_000 },
  },
  full: {
    ingest: { events: 500_000, runs: 3 },
    freshness: { rate: 5_000, seconds: 30 },
    state: { users: 20_000, days: 30, runs: 3 },
    restore: { users: 250_000, runs: 3 },
    backfill: { users: 20_000, days: 365 },
    query: { optOuts: 100_000, users: 1_000_000, exportRows: 1_000_000, requests: 30, reachRows: 2_000_000 },
    cluster: { events: 200_000 },
  },
};

const USAGE = `usage: npm run bench -- [--scale small|full] [--only ${SECTIONS.join(',')}]

  --scale small|full   small: seconds, for the CI smoke test; full: the figures in docs/benchmarks.md (default full)
  --only LIST          comma-separated sections to run (default: all but cluster)`;

function parse(argv: string[]): { scale: Scale; only: Section[] } | string {
  let values: { scale?: string | undefined; only?: string | undefined; help?: boolean | undefined };
  try {
    values = parseArgs({
      args: argv,
      options: { scale: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return (error as Error).message;
  }
  if (values.help) return '';
  const scale = values.scale ?? 'full';
  if (scale !== 'small' && scale !== 'full')
    return `--scale must be small or full (got ${JSON.stringify(scale)})`;
  const only =
    values.only === undefined ? [...DEFAULT_SECTIONS] : values.only.split(',').map((s) => s.trim());
  const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0)
    return `--only: unknown section(s) ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`;
  return { scale, only: only as Section[] };
}

async function connect(): Promise<Connection> {
  return connectionFromEnv() ?? stackUp();
}

function formatValue(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '-';
  return round(value).toLocaleString('en-US');
}

function table(results: SectionResult[]): string {
  const rows: string[][] = [['section', 'figure', 'value', 'unit', 'what was measured']];
  for (const r of results) {
    if (r.status !== 'ok' && r.figures.length === 0) {
      rows.push([r.section, r.status, '-', '', r.reason ?? '']);
      continue;
    }
    for (const f of r.figures) rows.push([r.section, f.name, formatValue(f.value), f.unit, f.measured]);
    if (r.status !== 'ok') rows.push([r.section, r.status, '-', '', r.reason ?? '']);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : i < 4 ? cell.padEnd(widths[i]!) : cell))
        .join('  '),
    )
    .join('\n');
}

async function main(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(parsed ? `bench: ${parsed}\n\n${USAGE}\n` : `${USAGE}\n`);
    return parsed ? 2 : 0;
  }
  const settings = SCALES[parsed.scale];
  // The cluster section brings its own stack.
  const connected = parsed.only.some((s) => s !== 'cluster') ? await connect() : undefined;
  const stack = (): Connection => {
    if (!connected) throw new Error('no single-node stack for this section');
    return connected;
  };
  const started = new Date();
  const results: SectionResult[] = [];
  const runners: Record<Section, () => Promise<SectionResult>> = {
    ingest: () => benchIngest(stack(), settings.ingest),
    freshness: () => benchFreshness(stack(), settings.freshness),
    state: () => benchState(settings.state),
    restore: () => benchRestore(stack(), settings.restore),
    backfill: () => benchBackfill(stack(), settings.backfill),
    query: () => benchQuery(stack(), settings.query),
    cluster: () => benchCluster(settings.cluster),
  };
  for (const section of parsed.only) {
    process.stderr.write(`bench: ${section} (${parsed.scale})...\n`);
    const sectionStarted = performance.now();
    let result: SectionResult;
    try {
      result = await runners[section]();
    } catch (error) {
      const reason = (error as Error).message;
      result =
        error instanceof NotAvailable
          ? { section, status: 'not available', reason, figures: [] }
          : { section, status: 'failed', reason, figures: [] };
    }
    result.details = { ...result.details, seconds: round((performance.now() - sectionStarted) / 1000) };
    process.stderr.write(
      `bench: ${section}: ${result.status}${result.reason ? ` (${result.reason.split('\n')[0]})` : ''}\n`,
    );
    results.push(result);
  }
  const summary = {
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    scale: parsed.scale,
    settings,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memory_gb: round(totalmem() / 2 ** 30),
      node: process.version,
    },
    stack: connected
      ? { kafka: connected.KAFKA_BROKERS, clickhouse: connected.CLICKHOUSE_URL }
      : { cluster: true },
    results: results.map((r) => ({
      ...r,
      figures: r.figures.map((f) => ({
        ...f,
        value: f.value === null || !Number.isFinite(f.value) ? null : round(f.value),
      })),
    })),
  };
  const json = JSON.stringify(summary, null, 2);
  const dir = join(REPO_ROOT, 'artifacts', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `summary-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${json}\n`);
  writeFileSync(join(dir, 'latest.json'), `${json}\n`);
  process.stdout.write(
    `\n${table(results)}\n\n${json}\n\nwritten: ${file} and ${join(dir, 'latest.json')}\n`,
  );
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
