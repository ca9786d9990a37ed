import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from './stack.ts';

describe('freePort', () => {
  it('gives loopback ports below the ephemeral range that can be bound', async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(29_000);
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
