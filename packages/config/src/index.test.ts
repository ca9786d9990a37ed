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

  it('reads CLICKHOUSE_CLUSTER as a cluster name, empty meaning a single server', () => {
    expect(parseEnv(clickhouseShape, {}).CLICKHOUSE_CLUSTER).toBeUndefined();
    expect(parseEnv(clickhouseShape, { CLICKHOUSE_CLUSTER: '' }).CLICKHOUSE_CLUSTER).toBeUndefined();
    expect(parseEnv(clickhouseShape, { CLICKHOUSE_CLUSTER: 'optout' }).CLICKHOUSE_CLUSTER).toBe('optout');
    expect(() => parseEnv(clickhouseShape, { CLICKHOUSE_CLUSTER: "x'; DROP" })).toThrow(
      /CLICKHOUSE_CLUSTER: must be a plain identifier/,
    );
  });

  it('reads CLICKHOUSE_REPLICA_URLS as a list, only with a cluster and CLICKHOUSE_URL scheme', () => {
    const cluster = { CLICKHOUSE_CLUSTER: 'optout' };
    expect(
      parseEnv(clickhouseShape, { ...cluster, CLICKHOUSE_REPLICA_URLS: 'http://a:1, http://b:2' })
        .CLICKHOUSE_REPLICA_URLS,
    ).toEqual(['http://a:1', 'http://b:2']);
    expect(() => parseEnv(clickhouseShape, { CLICKHOUSE_REPLICA_URLS: 'http://a:1' })).toThrow(
      /CLICKHOUSE_REPLICA_URLS: set, but CLICKHOUSE_CLUSTER is not/,
    );
    expect(() => parseEnv(clickhouseShape, { ...cluster, CLICKHOUSE_REPLICA_URLS: 'a:1' })).toThrow(
      /CLICKHOUSE_REPLICA_URLS: must be a comma-separated list of http\(s\) URLs/,
    );
    expect(() =>
      parseEnv(clickhouseShape, { ...cluster, CLICKHOUSE_REPLICA_URLS: 'https://a:1,http://b:2' }),
    ).toThrow(/CLICKHOUSE_REPLICA_URLS: must all use CLICKHOUSE_URL's scheme \(http:\/\/.*https:\/\/a:1/);
  });
});
