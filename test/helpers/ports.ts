// A free loopback port for a process that is told its port: the tests and the benchmark both start
// sidecars this way.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** The kernel's ephemeral port range (where listen(0) and outgoing connections take ports). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo! > 0 && hi! >= lo!) return [lo!, hi!];
  } catch {
    // Not Linux: Linux's default.
  }
  return [32768, 60999];
}

/** Whether 127.0.0.1:port can be listened on now (then released). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Lowest port freePort picks from (below it: well-known and commonly configured ports). */
const PICK_FROM = 10_000;

/**
 * A free loopback port for a process that is told its port (bound, released, answered).
 *
 * Picked at random below the kernel's ephemeral range when there is room there: a port taken by
 * listen(0) is in that range, and once released the kernel may hand it at once to any outgoing
 * connection of the machine as its local port (the tests open thousands on loopback, in parallel
 * files), which then makes the process that was told it fail with EADDRINUSE. Below the range only
 * another explicit bind can take it.
 */
export async function freePort(): Promise<number> {
  const [lo] = ephemeralRange();
  if (lo - PICK_FROM >= 1_000) {
    for (let i = 0; i < 50; i++) {
      const port = PICK_FROM + Math.floor(Math.random() * (lo - PICK_FROM));
      if (await canListen(port)) return port;
    }
  }
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
