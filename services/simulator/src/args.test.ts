import { describe, expect, it } from 'vitest';
import { ArgsError, parseSimulatorArgs } from './args.ts';

describe('parseSimulatorArgs', () => {
  it('has defaults', () => {
    const args = parseSimulatorArgs([], 1_700_000_000_000);
    expect(args).toMatchObject({
      apps: 3,
      users: 5000,
      days: 30,
      rate: 50,
      seed: 1,
      mode: 'both',
      endMs: 1_700_000_000_000,
    });
  });

  it('reads every knob', () => {
    const args = parseSimulatorArgs([
      '--users',
      '10000',
      '--days',
      '7',
      '--rate',
      '12.5',
      '--seed',
      '9',
      '--end',
      '2025-01-02T00:00:00Z',
      '--malformed',
      '0.01',
      '--mode',
      'backfill',
    ]);
    expect(args).toMatchObject({
      users: 10000,
      days: 7,
      rate: 12.5,
      seed: 9,
      malformed: 0.01,
      mode: 'backfill',
    });
    expect(args.endMs).toBe(Date.UTC(2025, 0, 2));
  });

  it('names the bad argument', () => {
    expect(() => parseSimulatorArgs(['--users', 'many'])).toThrow(/--users must be an integer/);
    expect(() => parseSimulatorArgs(['--malformed', '0.9'])).toThrow(/--malformed must be in 0..0.5/);
    expect(() => parseSimulatorArgs(['--mode', 'fast'])).toThrow(/--mode must be backfill, live or both/);
    expect(() => parseSimulatorArgs(['--end', 'yesterday'])).toThrow(/--end must be an ISO date-time/);
    expect(() => parseSimulatorArgs(['--nope'])).toThrow(ArgsError);
    expect(() => parseSimulatorArgs(['--apps', '5', '--users', '2'])).toThrow(/at least --apps/);
  });
});
