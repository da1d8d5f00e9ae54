// freePort, which the tests and the benchmark use to tell a process its port: the port must be
// free, and outside the kernel's ephemeral range, where outgoing connections could take it between
// the pick and the process's bind.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';

const range = (() => {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number) as [number, number];
  } catch {
    return undefined;
  }
})();

describe('freePort', () => {
  it('answers a port that can be listened on', async () => {
    const port = await freePort();
    const s = createServer();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((r) => s.close(() => r()));
  });

  it.skipIf(range === undefined || range[0] < 11_000)(
    'picks below the ephemeral range, and not the same port every time',
    async () => {
      const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
      for (const p of ports) {
        expect(p).toBeGreaterThanOrEqual(10_000);
        expect(p).toBeLessThan(range![0]);
      }
      expect(new Set(ports).size).toBeGreaterThan(1);
    },
  );
});
