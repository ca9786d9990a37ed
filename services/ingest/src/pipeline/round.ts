// One round: the batches of one fetch, across topics and partitions, turned
// into durable rows, in two stages so that the next round can be prepared
// while this one is written (the transport runs at most one of each at once).
//
// prepare (CPU, writes nothing):
//   1. decode, validate, check key and partition; refused records -> dead letters
//   2. erasures: the partition stops admitting the user's events up to τ
//   3. admit events (the ledger drops those of erased users up to τ) and build
//      the rows of the raw events and of what single events imply
//   4. find the users whose facts can have changed (state/affected.ts)
// write (I/O, in order, after the previous round's write):
//   5. dead letters; the erasures' ledger rows, deletions and re-derivations
//   6. the raw and single-event rows                         (idempotent)
//   7. recompute the affected transitions from the raw events read back, with
//      the round's own events added (6 and 7-8 run at the same time)
//   8. the fact rows                       (versioned by evidence, idempotent)
// and then the transport commits the round's offsets (packages/kafka).
//
// A crash anywhere redelivers the round. Every write is idempotent, and every
// fact is computed from what is durable plus the round being written (which
// is durable before its offsets commit), not from what this process remembers,
// so a redelivered round writes the same rows again or rows that win over
// them: nothing is lost and nothing counts twice, whatever happened before.
import type { EventCodec, EventKind } from '@optout/events';
import type { ConsumedRecord, PreparedRound, RecordBatch, Round } from '@optout/kafka';
import type { Logger } from '@optout/observability';
import type { IngestMetrics } from '../metrics.ts';
import type { Select } from '../recompute/read.ts';
import { recompute } from '../recompute/recompute.ts';
import type { ClickHouseSink } from '../sink/clickhouse-sink.ts';
import { EventRows, FactRows } from '../sink/rows.ts';
import { type AdmittedEvent, findWork, type UserWork, workFor } from '../state/affected.ts';
import type { PartitionState } from '../state/partition-state.ts';
import type { PartitionStates } from '../state/partition-states.ts';
import type { DeadLetters, RefusedRecord } from './dead-letters.ts';
import { type DecodedControl, decodeControl, decodeRecord } from './decode.ts';
import { type ErasureJobs, prepareErasure, writeErasure } from './erasure.ts';
import type { StepResult } from './results.ts';

export interface RoundDeps {
  codec: EventCodec;
  sink: ClickHouseSink;
  states: PartitionStates;
  deadLetters: DeadLetters;
  erasureJobs: ErasureJobs;
  metrics: IngestMetrics;
  logger: Logger;
  kindOf: ReadonlyMap<string, EventKind>;
  controlTopic: string;
  partitionCount: number;
  /**
   * Throws PartitionCountChanged if the topics no longer have partitionCount
   * partitions. Asked before records are dead-lettered as wrong_partition: after
   * a repartition every moved key would be one, and they must not flood the DLQ.
   */
  checkPartitionCount: () => Promise<void>;
}

/** A partition number the topics did not have at start-up: they were repartitioned. */
export class PartitionCountChanged extends Error {
  override name = 'PartitionCountChanged';
}

interface PartitionRound {
  state: PartitionState;
  events: AdmittedEvent[];
  controls: DecodedControl[];
}

export async function prepareRound(round: Round, deps: RoundDeps): Promise<PreparedRound> {
  const { metrics, sink, codec } = deps;
  const timer = metrics.roundSeconds.startTimer();
  const heartbeat = round.heartbeat;
  const partitions = [...new Set(round.batches.map((b) => b.partition))].sort((a, b) => a - b);
  const outside = partitions.find((p) => p >= deps.partitionCount);
  if (outside !== undefined)
    throw new PartitionCountChanged(
      `a batch of partition ${outside} arrived, but the topics had ${deps.partitionCount} partitions at start-up`,
    );
  // A restore reads consent_index: what earlier rounds write must be in it.
  if (!deps.states.holds(partitions)) await round.drain();
  const states = await deps.states.ensure(partitions, heartbeat);
  const byPartition = new Map<number, PartitionRound>(
    partitions.map((p) => [p, { state: states.get(p)!, events: [], controls: [] }]),
  );

  // 1. Decode.
  await codec.prepare(
    round.batches.filter((b) => deps.kindOf.has(b.topic)).flatMap((b) => b.records.map((r) => r.value)),
  );
  let records = 0;
  const refused: RefusedRecord[] = [];
  for (const batch of round.batches) {
    records += batch.records.length;
    metrics.recordsIn.inc({ topic: batch.topic }, batch.records.length);
    decodeBatch(batch, byPartition.get(batch.partition)!, refused, deps);
    metrics.lag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset) - 1),
    );
  }
  if (refused.some((r) => r.reason === 'wrong_partition')) await deps.checkPartitionCount();

  // 2-3. Erasures, then admission through the ledger, and the rows of what is admitted.
  const work = new Map<string, UserWork>();
  const stateOf = new Map<string, PartitionState>();
  const controls = [...byPartition.values()].flatMap((p) =>
    p.controls.map((c) => ({ control: c, state: p.state })),
  );
  // An erasure reads consent_index: every earlier round must be durable first.
  if (controls.length > 0) await round.drain();
  const erasureContext = { sink, partitionCount: deps.partitionCount, heartbeat };
  for (const { control, state } of controls) {
    await prepareErasure(state, control, erasureContext);
    const { app_id, user_id } = control.message;
    const ref = { appId: app_id, userId: user_id, userKey: control.userKey, keyHash: control.keyHash };
    workFor(work, ref).dirt.all = true;
    stateOf.set(control.userKey, state);
  }
  const eventRows = new EventRows(deps.partitionCount);
  for (const part of byPartition.values()) {
    part.events = part.events.filter((e) => {
      if (e.input.event.occurred_at > part.state.erasedThrough(e.userKey)) return true;
      metrics.dropped.inc({ topic: e.topic, reason: 'erased' });
      return false;
    });
    for (const e of part.events) eventRows.add(e);
  }

  // 4. Whose facts can have changed.
  for (const { state, events } of byPartition.values()) {
    const found = findWork(state, events);
    for (const [topic, n] of found.late) metrics.late.inc({ topic }, n);
    for (const [key, userWork] of found.users) {
      const existing = work.get(key);
      if (existing) {
        for (const id of userWork.dirt.consentIds) existing.dirt.consentIds.add(id);
        existing.dirt.ranges.push(...userWork.dirt.ranges);
        existing.around.push(...userWork.around);
      } else work.set(key, userWork);
      stateOf.set(key, state);
    }
  }

  return {
    write: async () => {
      // 5. Dead letters and erasures.
      await deps.deadLetters.send(refused, heartbeat);
      for (const { control } of controls) {
        await writeErasure(control, erasureContext);
        deps.erasureJobs.track(control.message);
      }
      // 6-8 at once: the raw and single-event rows of every table, and beside
      // them the recompute, from the durable histories plus this round's events
      // (the held histories take them now; a failed round drops them), then the
      // fact rows. A fact written before its raw rows is safe: the round commits
      // only after both, and when redelivered it writes the same rows again.
      // So a round costs the longer of the two paths, not their sum.
      // Only the users recomputed can be read, so only theirs are grouped.
      const roundEvents = new Map<string, AdmittedEvent[]>();
      for (const { state, events } of byPartition.values()) {
        state.histories.merge(events);
        for (const e of events) {
          if (!work.has(e.userKey)) continue;
          const list = roundEvents.get(e.userKey);
          if (list) list.push(e);
          else roundEvents.set(e.userKey, [e]);
        }
      }
      await settleAll([
        ...eventRows.tables().map((rows) => sink.insert(rows, heartbeat)),
        work.size > 0 ? writeFacts(work, stateOf, roundEvents, heartbeat, deps) : Promise.resolve(),
      ]);
      metrics.roundRecords.observe(records);
      timer();
    },
  };
}

/** Like Promise.all, but rejects only once every write has settled: writes never overlap a retry. */
async function settleAll(writes: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function writeFacts(
  work: Map<string, UserWork>,
  stateOf: Map<string, PartitionState>,
  roundEvents: ReadonlyMap<string, readonly AdmittedEvent[]>,
  heartbeat: () => Promise<void>,
  { sink, metrics }: RoundDeps,
): Promise<void> {
  const select: Select = (query, label) => sink.select(query, label, heartbeat);
  const results = await recompute(
    select,
    [...work.values()],
    (userKey) => stateOf.get(userKey)!.erasedThrough(userKey),
    (userKey) => stateOf.get(userKey)!.histories,
    roundEvents,
  );
  metrics.recomputedUsers.inc(results.length);
  const facts = new FactRows();
  for (const { work: user, rows, written } of results) for (const row of rows) facts.add(user, row, written);
  // Still ours? A member that lost the partition learns it here (or when its
  // commit is refused); what it wrote until then loses to the owner's rows.
  await heartbeat();
  await Promise.all(facts.tables().map((rows) => sink.insert(rows, heartbeat)));
  for (const rows of facts.tables())
    if (rows.length) metrics.factsWritten.inc({ table: rows.table.name }, rows.length);
  for (const { work: user, rows } of results) {
    const state = stateOf.get(user.userKey)!;
    for (const row of rows)
      if (row.facts)
        state.rememberFirstActivity(user.keyHash, row.channel, row.record.t, row.facts.nextActivityAt);
  }
}

function decodeBatch(
  batch: RecordBatch,
  part: PartitionRound,
  refused: RefusedRecord[],
  deps: RoundDeps,
): void {
  const kind = deps.kindOf.get(batch.topic);
  const refuse = (record: ConsumedRecord, result: StepResult<unknown> & { type: 'dlq' }) =>
    refused.push({
      reason: result.reason,
      detail: result.detail,
      topic: batch.topic,
      partition: batch.partition,
      offset: record.offset,
      key: record.key,
      value: record.value,
      headers: record.headers,
    });
  let decoded = 0;
  for (const record of batch.records) {
    if (kind === undefined) {
      const result = decodeControl(record, batch.partition, deps.partitionCount);
      if (result.type === 'dlq') refuse(record, result);
      else if (result.type === 'ok') {
        part.controls.push(result.value);
        decoded++;
      }
      continue;
    }
    const result = decodeRecord(deps.codec, kind, batch.topic, record, batch.partition, deps.partitionCount);
    if (result.type === 'dlq') refuse(record, result);
    else if (result.type === 'ok') {
      part.events.push(result.value);
      decoded++;
    }
  }
  deps.metrics.decoded.inc({ topic: batch.topic }, decoded);
}
