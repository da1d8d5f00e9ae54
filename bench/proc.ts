// What the benchmark scripts need of the machine: free loopback ports, core pinning and a
// process's CPU time.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** A free loopback port (bound, read, released). */
export async function freePort(): Promise<number> {
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
