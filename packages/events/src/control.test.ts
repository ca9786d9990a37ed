import { describe, expect, it } from 'vitest';
import { encodeControl, parseControl } from './control.ts';

const good = {
  type: 'erase_user' as const,
  job_id: '0b6c8f0e-9d1a-4c1e-8f5e-2f7d7a1b9c3d',
  app_id: 'app-1',
  user_id: 'user-1',
  requested_at: '2026-12-01T10:00:00.000Z',
};

describe('control messages', () => {
  it('round-trips an erase_user message', () => {
    expect(parseControl(encodeControl(good))).toEqual({ ok: true, message: good });
  });

  it('refuses what ingest could not carry out, saying which field', () => {
    const bad = (value: unknown) => parseControl(Buffer.from(JSON.stringify(value)));
    expect(parseControl(null)).toEqual({ ok: false, detail: 'empty control message' });
    expect(parseControl(Buffer.from('{'))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^not JSON/),
    });
    expect(bad({ ...good, type: 'drop_table' })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^type/),
    });
    expect(bad({ ...good, user_id: 'x'.repeat(257) })).toMatchObject({
      detail: expect.stringMatching(/^user_id/),
    });
    expect(bad({ ...good, requested_at: 'yesterday' })).toMatchObject({
      detail: expect.stringMatching(/^requested_at/),
    });
    expect(bad({ ...good, job_id: "x'); DROP" })).toMatchObject({ detail: expect.stringMatching(/^job_id/) });
    // JSON can spell a lone surrogate; UTF-8 and SQL literals cannot carry one.
    const lone = parseControl(
      Buffer.from(
        `{"type":"erase_user","job_id":"j","app_id":"a","user_id":"\\ud800","requested_at":"${good.requested_at}"}`,
      ),
    );
    expect(lone).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^user_id: must not contain a lone surrogate/),
    });
  });
});
