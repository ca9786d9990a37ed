// `npm run migrate` (tsx packages/clickhouse/src/cli.ts migrate): applies the
// ClickHouse migrations to CLICKHOUSE_DATABASE on CLICKHOUSE_URL and says what it did.
import { clickhouseShape, loadConfigOrExit, parseEnv } from '@optout/config';
import { createClickHouseClient } from './client.ts';
import { clickhouseConnection } from './connection.ts';
import { migrate } from './migrations.ts';

async function main(command: string | undefined): Promise<number> {
  if (command !== 'migrate') {
    process.stderr.write('usage: cli.ts migrate\n');
    return 2;
  }
  const config = loadConfigOrExit(() => parseEnv(clickhouseShape));
  const client = createClickHouseClient(clickhouseConnection(config));
  try {
    const { applied, skipped } = await migrate(client, { database: config.CLICKHOUSE_DATABASE });
    for (const name of applied) process.stdout.write(`applied  ${name}\n`);
    process.stdout.write(
      `${config.CLICKHOUSE_DATABASE}: ${applied.length} applied, ${skipped.length} already applied\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

process.exitCode = await main(process.argv[2]);
