import { randomBytes } from 'node:crypto';

/** A name no other test (or earlier run) uses: `prefix_<time>_<random>`, safe as a topic or database name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
