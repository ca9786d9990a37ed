// The states of the partitions this instance holds, restored on first use after
// an assignment and dropped whenever the assignment changes, kafkajs crashes or
// a round fails: whatever it held may be behind what another instance wrote
// in between, and restoring from ClickHouse is cheap (restore.ts).
import type { Logger } from '@optout/observability';
import type { IngestMetrics, StateStats } from '../metrics.ts';
import type { ClickHouseSink, Heartbeat } from '../sink/clickhouse-sink.ts';
import type { PartitionState } from './partition-state.ts';
import { restorePartition } from './restore.ts';

export class PartitionStates {
  private readonly states = new Map<number, PartitionState>();
  private restoring = 0;

  constructor(
    private readonly o: {
      sink: ClickHouseSink;
      partitionCount: number;
      /** Events of histories each partition may keep (HistoryCache). */
      cachedEventsPerPartition: number;
      metrics: IngestMetrics;
      logger: Logger;
    },
  ) {}

  /** Whether every partition of `partitions` has its state (none needs a restore). */
  holds(partitions: readonly number[]): boolean {
    return partitions.every((p) => this.states.has(p));
  }

  dropAll(): void {
    this.states.clear();
  }

  drop(partitions: Iterable<number>): void {
    for (const p of partitions) this.states.delete(p);
  }

  /** The states of `partitions`, restoring (in parallel, retried while ClickHouse is down) those not held. */
  async ensure(partitions: readonly number[], heartbeat: Heartbeat): Promise<Map<number, PartitionState>> {
    await Promise.all(
      partitions
        .filter((p) => !this.states.has(p))
        .map(async (p) => {
          const timer = this.o.metrics.restoreSeconds.startTimer();
          const { sink, partitionCount } = this.o;
          this.restoring++;
          const { state, stats } = await sink
            .retrying(`restore partition ${p}`, heartbeat, () =>
              restorePartition(sink.client, p, partitionCount, this.o.cachedEventsPerPartition),
            )
            .finally(() => this.restoring--);
          const seconds = timer();
          this.states.set(p, state);
          this.o.logger.info(
            {
              event: 'partition_restored',
              partition: p,
              users: state.index.users,
              consent_changes: stats.changes,
              erased_users: stats.erasures,
              seconds,
            },
            'state restored',
          );
        }),
    );
    return new Map(partitions.map((p) => [p, this.states.get(p)!]));
  }

  stats(): StateStats {
    const stats: StateStats = {
      partitions: this.states.size,
      restoring: this.restoring,
      users: 0,
      consentChanges: 0,
      erasedUsers: 0,
      cachedUsers: 0,
      cachedEvents: 0,
    };
    for (const state of this.states.values()) {
      stats.users += state.index.users;
      stats.consentChanges += state.index.changes();
      stats.erasedUsers += state.erasedUsers;
      stats.cachedUsers += state.histories.size;
      stats.cachedEvents += state.histories.heldEvents;
    }
    return stats;
  }
}
