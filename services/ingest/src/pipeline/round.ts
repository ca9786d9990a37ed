// One round: the batches of one fetch, across topics and partitions, turned
// into durable rows. In this order, which is what makes it effectively once:
//
//   1. decode, validate, check key and partition; refused records -> dead letters
//   2. erasures of the round (erasure.ts): ledger, deletions, re-derivations
//   3. admit events (the ledger drops those of erased users up to τ)
//   4. write the raw events and what single events imply        (idempotent)
//   5. find the users whose facts can have changed (state/affected.ts)
//   6. recompute their transitions from the raw events read back (recompute/)
//   7. write the fact rows                  (versioned by evidence, idempotent)
// and then the transport commits the round's offsets (packages/kafka).
//
// A crash anywhere redelivers the round. Every write is idempotent, and every
// fact is computed from what is durable, not from what this process remembers,
// so a redelivered round writes the same rows again or rows that win over
// them: nothing is lost and nothing counts twice, whatever happened before.
import type { EventCodec, EventKind } from '@optout/events';
import type { ConsumedRecord, RecordBatch, Round } from '@optout/kafka';
import type { Logger } from '@optout/observability';
import type { IngestMetrics } from '../metrics.ts';
import type { Select } from '../recompute/read.ts';
import { recompute } from '../recompute/recompute.ts';
import type { ClickHouseSink } from '../sink/clickhouse-sink.ts';
import { EventRows, FactRows } from '../sink/rows.ts';
import { type AdmittedEvent, findWork, type UserWork, workFor } from '../state/affected.ts';
import type { PartitionState } from '../state/partition-state.ts';
import type { PartitionStates } from '../state/partition-states.ts';
import type { DeadLetters } from './dead-letters.ts';
import { type DecodedControl, decodeControl, decodeRecord } from './decode.ts';
import { applyErasure, type ErasureJobs } from './erasure.ts';
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

export async function processRound(round: Round, deps: RoundDeps): Promise<void> {
  const { metrics, sink, codec } = deps;
  const timer = metrics.roundSeconds.startTimer();
  const heartbeat = round.heartbeat;
  const partitions = [...new Set(round.batches.map((b) => b.partition))].sort((a, b) => a - b);
  const outside = partitions.find((p) => p >= deps.partitionCount);
  if (outside !== undefined)
    throw new PartitionCountChanged(
      `a batch of partition ${outside} arrived, but the topics had ${deps.partitionCount} partitions at start-up`,
    );
  const states = await deps.states.ensure(partitions, heartbeat);
  const byPartition = new Map<number, PartitionRound>(
    partitions.map((p) => [p, { state: states.get(p)!, events: [], controls: [] }]),
  );

  // 1. Decode.
  await codec.prepare(
    round.batches.filter((b) => deps.kindOf.has(b.topic)).flatMap((b) => b.records.map((r) => r.value)),
  );
  let records = 0;
  for (const batch of round.batches) {
    records += batch.records.length;
    metrics.recordsIn.inc({ topic: batch.topic }, batch.records.length);
    decodeBatch(batch, byPartition.get(batch.partition)!, deps);
    metrics.lag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset) - 1),
    );
  }
  if (deps.deadLetters.has('wrong_partition')) await deps.checkPartitionCount();
  await deps.deadLetters.flush(heartbeat);

  // 2-3. Erasures, then admission through the ledger.
  const work = new Map<string, UserWork>();
  const stateOf = new Map<string, PartitionState>();
  for (const { state, controls } of byPartition.values()) {
    for (const control of controls) {
      await applyErasure(state, control, { sink, partitionCount: deps.partitionCount, heartbeat });
      const { app_id, user_id } = control.message;
      workFor(work, {
        appId: app_id,
        userId: user_id,
        userKey: control.userKey,
        keyHash: control.keyHash,
      }).dirt.all = true;
      stateOf.set(control.userKey, state);
      deps.erasureJobs.track(control.message);
    }
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

  // 4. Raw events and single-event rows, all tables at once.
  await Promise.all(eventRows.tables().map((rows) => sink.insert(rows, heartbeat)));

  // 5. Whose facts can have changed.
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

  // 6-7. Recompute from what is durable, then write.
  if (work.size > 0) {
    const select: Select = (query, label) => sink.select(query, label, heartbeat);
    const results = await recompute(select, [...work.values()], (userKey) =>
      stateOf.get(userKey)!.erasedThrough(userKey),
    );
    metrics.recomputedUsers.inc(results.length);
    const facts = new FactRows();
    for (const { work: user, rows } of results) for (const row of rows) facts.add(user, row);
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
  metrics.roundRecords.observe(records);
  timer();
}

function decodeBatch(batch: RecordBatch, part: PartitionRound, deps: RoundDeps): void {
  const kind = deps.kindOf.get(batch.topic);
  const refuse = (record: ConsumedRecord, result: StepResult<unknown> & { type: 'dlq' }) =>
    deps.deadLetters.add({
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
