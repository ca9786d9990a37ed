// Control messages on the control topic (co-partitioned with the inputs, so an
// erasure is applied in order with the user's other records on the same instance).
import { z } from 'zod';

export const eraseUserMessage = z.object({
  type: z.literal('erase_user'),
  job_id: z.string().min(1).max(200),
  app_id: z.string().min(1),
  user_id: z.string().min(1),
  requested_at: z.string().optional(),
});

export type EraseUser = z.infer<typeof eraseUserMessage>;

export function parseControl(
  value: Buffer | null,
): { ok: true; message: EraseUser } | { ok: false; detail: string } {
  if (!value) return { ok: false, detail: 'empty control message' };
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
      detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  return { ok: true, message: parsed.data };
}

/** Every table holding a user's facts or events (the materialized views' targets included). */
export const USER_TABLES = [
  'consent_transitions',
  'optout_campaign_touches',
  'optout_event_counts',
  'campaign_reach',
  'user_external_ids',
  'user_identifiers',
  'raw_push_sent',
  'raw_campaign_interactions',
  'raw_app_events',
  'raw_consent_changes',
] as const;
