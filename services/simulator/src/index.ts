// @optout/simulator: the seeded event model, its noise stages and the Kafka sender,
// for the CLI (main.ts), the demo (demo.ts) and the benchmark (bench/).
export {
  type Behaviour,
  DAY_MS,
  DEFAULT_BEHAVIOUR,
  dailyOptOutHazard,
  fatigueMultiplier,
} from './model/behaviour.ts';
export { type DisorderOptions, NO_DISORDER, withDisorder } from './model/disorder.ts';
export { isMalformed, type MalformedRecord, type SimRecord, withMalformed } from './model/malformed.ts';
export { createRng, type Rng } from './model/rng.ts';
export { Simulation, type SimulationOptions } from './model/stream.ts';
export type { Campaign, CampaignQuality, SimUser, World } from './model/world.ts';
export { backfill, live, NO_NOISE, type NoiseOptions, sleep, withNoise } from './run.ts';
export { createSender, type Sender, type SenderOptions } from './send.ts';
