import { describe, expect, it } from 'vitest';
import { whileUnknownTopic } from './admin.ts';

/** An error shaped like kafkajs's KafkaJSProtocolError for `type`. */
const protocolError = (type: string) => Object.assign(new Error(type), { type });

describe('whileUnknownTopic', () => {
  it('tries again while a broker does not know the topic yet, then returns', async () => {
    let calls = 0;
    const result = await whileUnknownTopic(
      async () => {
        calls++;
        if (calls < 3) throw protocolError('UNKNOWN_TOPIC_OR_PARTITION');
        return 'created';
      },
      { delayMs: 1 },
    );
    expect(result).toBe('created');
    expect(calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    let calls = 0;
    const attempt = async () => {
      calls++;
      throw protocolError('TOPIC_AUTHORIZATION_FAILED');
    };
    await expect(whileUnknownTopic(attempt, { delayMs: 1 })).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
    expect(calls).toBe(1);
  });

  it('gives up after its deadline with the last error', async () => {
    const attempt = async () => {
      throw protocolError('UNKNOWN_TOPIC_OR_PARTITION');
    };
    await expect(whileUnknownTopic(attempt, { deadlineMs: 20, delayMs: 5 })).rejects.toThrow(
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
  });
});
