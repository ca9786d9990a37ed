// Control messages on the control topic, the contract between the query service
// (which publishes them) and services/ingest (which carries them out). The topic
// is co-partitioned with the inputs and messages are keyed `<app_id>:<user_id>`,
// so an erasure reaches the instance that holds the user, in order with the
// rest of that partition.
import { z } from 'zod';
import { MAX_ID_LENGTH } from './validate.ts';

// A lone surrogate cannot be written as UTF-8 (nor bound into SQL): refuse it here.
const wellFormed = (s: string) => !/[\uD800-\uDFFF]/u.test(s);
const id = z.string().min(1).max(MAX_ID_LENGTH).refine(wellFormed, 'must not contain a lone surrogate');

export const eraseUserMessage = z.object({
  type: z.literal('erase_user'),
  // Job ids are written into the erasure's mutations and searched for there: plain characters only.
  job_id: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, 'must be 1..200 of A-Z a-z 0-9 . _ : -'),
  app_id: id,
  user_id: id,
  /** τ of SPEC 6: events of the user with occurred_at <= this instant are erased for good. */
  requested_at: z.iso.datetime({ offset: true }),
});

export type EraseUserMessage = z.infer<typeof eraseUserMessage>;

export type ControlParse = { ok: true; message: EraseUserMessage } | { ok: false; detail: string };

export function encodeControl(message: EraseUserMessage): Buffer {
  return Buffer.from(JSON.stringify(eraseUserMessage.parse(message)), 'utf8');
}

export function parseControl(value: Buffer | null): ControlParse {
  if (!value || value.length === 0) return { ok: false, detail: 'empty control message' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, detail: `not JSON: ${(error as Error).message}` };
  }
  const parsed = eraseUserMessage.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; '),
    };
  return { ok: true, message: parsed.data };
}
