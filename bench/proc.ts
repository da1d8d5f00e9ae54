// What the benchmark scripts need of the machine: free loopback ports, core pinning and a
// process's CPU time.
import { execFileSync } from 'node:child_process';
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

/** True when `taskset` can pin processes to cores. */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const TICK_HZ = 100; // USER_HZ on Linux

/** User plus system CPU seconds a process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK_HZ; // utime + stime
}

/** User and system CPU seconds a process has used so far, apart (all its threads). */
export function cpuSplit(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / TICK_HZ, system: Number(fields[12]) / TICK_HZ };
}

/**
 * Waits until a sidecar's admin listener answers /healthz; throws, naming the port, if it has not
 * within `seconds` (a probe must not go on to measure a sidecar that never started).
 */
export async function waitHealthy(adminPort: number, seconds = 10): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${adminPort}/healthz`);
      return;
    } catch {
      if (Date.now() > deadline)
        throw new Error(
          `the sidecar on admin port ${adminPort} did not answer within ${seconds} s`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
