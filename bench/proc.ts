// What the benchmark needs of the machine: core pinning and a process's CPU time. Free ports come
// from test/helpers/ports.ts, shared with the tests.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
