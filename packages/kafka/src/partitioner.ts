// The partition a key lands on with Kafka's default partitioner (murmur2, as in
// the Java client and kafkajs's DefaultPartitioner). Ingest uses it to check that
// a record sits in the partition its key demands (SPEC 2, co-partitioning).

/** murmur2 of a byte array, as Kafka's Utils.murmur2 (seed 0x9747b28c). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = 0x9747b28c ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) +
      ((data[i4 + 1]! & 0xff) << 8) +
      ((data[i4 + 2]! & 0xff) << 16) +
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length4 * 4;
  // The tail bytes, as Java's fall-through switch does them.
  const rest = length % 4;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Non-negative hash of a key, as Kafka's toPositive(murmur2(key)). */
export function keyHash(key: string | Uint8Array): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return murmur2(bytes) & 0x7fffffff;
}

export function partitionForKey(key: string | Uint8Array, partitions: number): number {
  return keyHash(key) % partitions;
}
