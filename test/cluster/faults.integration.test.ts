// The cluster under faults (issue 13): a 400-day history, shuffled and with
// duplicates, through three Kafka brokers (replication factor 3,
// min.insync.replicas=2, acks=all) and three ingest instances in one group
// over 12 partitions, into 2 shards x 2 replicas of ClickHouse, while
//   (a) the broker leading the most partitions is killed (-9) and restarted,
//   (b) one ClickHouse replica is stopped and started again,
//   (c) one ingest instance is killed (-9) and another joins.
// Then every chart equals the brute-force reference (SPEC 3), and no offset
// was ever committed ahead of the rows being on every replica that answered
// (test/support/cluster-durability.ts).
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/stack.ts';
import { readOptOutFacts, readTransitions } from '../pipeline/facts.ts';
import { expectAllEndpointsExact, HISTORY } from '../pipeline/history.ts';
import {
  busiestLeader,
  type ClickHouseNode,
  clickhouseRetries,
  clusterTestsEnabled,
  crashBroker,
  stopReplica,
} from '../support/cluster.ts';
import { startDurabilitySampler } from '../support/cluster-durability.ts';
import { type ClusterPipeline, createClusterPipeline } from '../support/cluster-pipeline.ts';
import { shuffle, withDuplicates } from '../support/generate.ts';
import * as reference from '../support/reference.ts';
import { waitFor } from '../support/wait.ts';

/** Not exited yet (a child killed by a signal has exitCode null too, and signalCode set). */
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Offsets committed by the group so far, all partitions of the input topics together. */
async function committed(p: ClusterPipeline): Promise<number> {
  try {
    const offsets = await p.admin.fetchOffsets({ groupId: p.groupId, topics: Object.values(p.topics) });
    return offsets.flatMap((t) => t.partitions).reduce((sum, q) => sum + Math.max(0, Number(q.offset)), 0);
  } catch {
    return -1; // the coordinator is moving
  }
}

describe.runIf(clusterTestsEnabled)('the cluster under faults', () => {
  let p: ClusterPipeline | undefined;
  // Dropping the replicated tables of this much history takes ZooKeeper a while.
  afterAll(async () => {
    if (!process.env.DEBUG_KEEP) await p?.cleanup();
  }, 600_000);

  it('every chart equals the reference through a broker crash, a replica restart and an ingest crash', async () => {
    const pipeline = await createClusterPipeline({ prefix: 'cfault', partitions: 12 });
    p = pipeline;
    const deliveries = withDuplicates(shuffle(HISTORY, 131), 132, 0.25);
    const fifth = Math.ceil(deliveries.length / 5);
    const phases = [0, 1, 2, 3, 4].map((i) => deliveries.slice(i * fifth, (i + 1) * fifth));
    const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
    // Each instance talks to another server: any of them is an entry to the cluster.
    const instances = new Map<string, { child: ChildProcess; port: number }>();
    const spawn = (name: string, node: ClickHouseNode, port: number) =>
      instances.set(name, { child: pipeline.spawnIngestOn(node, name, port), port });
    const retries = async () => {
      let total = 0;
      for (const { child, port } of instances.values())
        if (running(child)) total += await clickhouseRetries(port).catch(() => 0);
      return total;
    };
    spawn('a', 1, ports[0]!);
    spawn('b', 2, ports[1]!);
    spawn('c', 3, ports[2]!);
    const sampler = startDurabilitySampler(pipeline);

    await pipeline.produce(phases[0]!);
    await waitFor(async () => (await committed(pipeline)) > 0, 'the instances to commit something', 180_000);

    // (a) A crash of the broker that leads the most partitions, under load.
    const leader = await busiestLeader(pipeline.admin, Object.values(pipeline.topics));
    await crashBroker(leader, async () => {
      const before = await committed(pipeline);
      await pipeline.produce(phases[1]!);
      await waitFor(
        async () => (await committed(pipeline)) > before,
        `ingest to go on committing with broker ${leader} down`,
        180_000,
      );
    });

    // (b) A replica stopped: every write waits for it (retried), then resumes.
    await stopReplica(2, async () => {
      const before = await retries();
      await pipeline.produce(phases[2]!);
      await waitFor(async () => (await retries()) > before, 'ingest to retry while s1r2 is down', 120_000);
    });

    // (c) An instance killed -9 in the middle of its work, another joining.
    const victim = instances.get('a')!.child;
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));
    await pipeline.produce(phases[3]!);
    spawn('d', 4, ports[3]!);
    await pipeline.produce(phases[4]!);

    // Well inside the test's own time limit, so that a stall says which partitions are behind.
    await pipeline.waitForCaughtUp(420_000);
    // Done: the instances go (they would only compete with the checks for the two cores).
    for (const { child } of instances.values()) child.kill('SIGTERM');
    await Promise.all(
      [...instances.values()].map(({ child }) =>
        running(child) ? new Promise((resolve) => child.once('exit', resolve)) : undefined,
      ),
    );
    await sampler.stop();
    const report = await sampler.verify();
    expect(report.violations, report.violations.join('\n')).toEqual([]);
    expect(report.samplesWithServerDown).toBeGreaterThan(0);
    expect(report.checked).toBeGreaterThan(deliveries.length);

    // The facts themselves, then every chart through the query service.
    expect(await readTransitions(pipeline.clickhouse)).toEqual(reference.transitions(HISTORY));
    expect(await readOptOutFacts(pipeline.clickhouse)).toEqual(reference.optOutFacts(HISTORY));
    await expectAllEndpointsExact(pipeline);
  }, 1_200_000);
});
