// A co-partitioned assignment (SPEC 2): partition p of every subscribed topic goes
// to the same group member, so one instance sees all four streams of a user.
// Partition numbers are dealt round-robin over the members sorted by id, which is
// deterministic for every member that computes it.
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const CO_PARTITIONED = 'CoPartitionedAssigner';

/** partition -> member, for members sorted by id. Pure, for tests and the assigner. */
export function dealPartitions(memberIds: string[], partitionCount: number): Map<string, number[]> {
  const sorted = [...memberIds].sort();
  const result = new Map<string, number[]>(sorted.map((id) => [id, []]));
  if (sorted.length === 0) return result;
  for (let p = 0; p < partitionCount; p++) result.get(sorted[p % sorted.length]!)!.push(p);
  return result;
}

export class CoPartitioningError extends Error {
  override name = 'CoPartitioningError';
}

export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITIONED,
  version: 1,
  async assign({ members, topics }) {
    const counts = new Map(topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).length]));
    const distinct = new Set(counts.values());
    if (distinct.size > 1) {
      // Assigning anyway would split a user's streams across instances.
      throw new CoPartitioningError(
        `topics are not co-partitioned: ${JSON.stringify(Object.fromEntries(counts))}`,
      );
    }
    const partitionCount = distinct.values().next().value ?? 0;
    const dealt = dealPartitions(
      members.map((m) => m.memberId),
      partitionCount,
    );
    return members.map(({ memberId }) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 1,
        assignment: Object.fromEntries(topics.map((topic) => [topic, dealt.get(memberId) ?? []])),
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: CO_PARTITIONED,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    };
  },
});
