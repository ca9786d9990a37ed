import { describe, expect, it } from 'vitest';
import { ConfigError, clickhouseShape, kafkaShape, parseEnv } from './index.ts';

describe('parseEnv', () => {
  it('applies the documented defaults', () => {
    const config = parseEnv({ ...kafkaShape, ...clickhouseShape }, {});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.TOPIC_DLQ).toBe('optout-dlq');
    expect(config.CLICKHOUSE_URL).toBe('http://127.0.0.1:8123');
  });

  it('names every bad variable and what was given', () => {
    const attempt = () =>
      parseEnv(
        { ...kafkaShape, ...clickhouseShape },
        { KAFKA_BROKERS: 'nohostport', CLICKHOUSE_URL: 'ftp://x' },
      );
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /KAFKA_BROKERS: must be a comma-separated list of host:port \(got "nohostport"\)/,
    );
    expect(attempt).toThrow(/CLICKHOUSE_URL: must be an http\(s\) URL/);
  });

  it('splits and trims the broker list', () => {
    const config = parseEnv(kafkaShape, { KAFKA_BROKERS: 'a:1, b:2' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });
});
