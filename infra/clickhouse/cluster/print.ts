// Prints the cluster form of every migration (what `npm run migrate` runs when
// CLICKHOUSE_CLUSTER is set), for reading and review:
//
//   npx tsx infra/clickhouse/cluster/print.ts [cluster] [database]    (optout optout)
//
// The statements come from packages/clickhouse/src/cluster.ts applied to the
// files of infra/clickhouse/migrations/: there is no second copy to keep in step.
import { clusterStatements, loadMigrations } from '@optout/clickhouse';

const [cluster = 'optout', database = 'optout'] = process.argv.slice(2);
for (const migration of await loadMigrations()) {
  console.log(`-- ${migration.name}`);
  for (const statement of migration.statements)
    for (const query of clusterStatements(statement, { cluster, database })) console.log(`${query};\n`);
}
