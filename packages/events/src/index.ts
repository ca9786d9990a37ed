// @optout/events: the input records (SPEC 2), their wire format, decoding,
// validation and producing.
export { benchDecode } from './bench.ts';
export {
  createEventCodec,
  type DecodeFailureReason,
  type DecodeResult,
  type EventCodec,
  type EventCodecOptions,
  SchemaNotPreparedError,
} from './codec.ts';
export {
  type ControlParse,
  type EraseUserMessage,
  encodeControl,
  eraseUserMessage,
  parseControl,
} from './control.ts';
export {
  HISTOGRAM_LENGTH,
  histogramIndex,
  MARK_LATE_MS,
  MARK_SLACK_MS,
  MAX_PUSH_BUCKET,
  type MarkKind,
  OPTOUT_DAY_SPAN_MS,
  type OptOutExposure,
  optOutExposure,
  optOutPushes,
  PUSH_BUCKETS,
  PUSHES_BEFORE_MS,
  QUARTER_MS,
  QUARTERS_PER_DAY,
} from './exposure-layout.ts';
export { type EventMessage, eventKey, type SendEventsOptions, sendEvents, toMessage } from './produce.ts';
export {
  parseAvroSchema,
  type RegisteredSchema,
  type SchemaRegistry,
  UnknownSchemaError,
} from './registry.ts';
export {
  type BundledRegistryOptions,
  bundledSchemaRegistry,
  staticSchemaRegistry,
} from './registry-bundled.ts';
export {
  createSchemaRegistry,
  type SchemaRegistryOptions,
  schemaRegistryConnection,
} from './registry-config.ts';
export { type HttpRegistryOptions, httpSchemaRegistry } from './registry-http.ts';
export {
  type BundledSchema,
  bundledReaderTypes,
  DEFAULT_SCHEMAS_DIR,
  loadBundledSchemas,
  type ManifestEntry,
} from './schemas.ts';
export {
  type ConsentRecord,
  type ConsentStatus,
  compareByTimeThenId,
  type Transition,
  type TransitionKind,
  transitionsOf,
} from './transitions.ts';
export * from './types.ts';
export {
  MAX_ID_LENGTH,
  MAX_OCCURRED_AT,
  MAX_RECORD_BYTES,
  MIN_OCCURRED_AT,
  validateEvent,
} from './validate.ts';
export { DAY_MS, MAX_WINDOW_DAYS, MAX_WINDOW_MS } from './windows.ts';
export {
  MAGIC_BYTE,
  WIRE_HEADER_BYTES,
  type WireHeaderError,
  wireHeaderError,
  wireSchemaId,
  writeWireHeader,
} from './wire.ts';
