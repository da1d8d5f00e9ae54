// What span-instructions.mjs and route-instructions.mjs share: a probe that runs itself again
// under Valgrind's callgrind (needs `apt install valgrind`) and counts the instructions of one
// round of a warm loop.
//   parent: const { ir, dumpPath, done } = underCallgrind(name, probeFile, args, nodeArgs)
//   child:  if (isCallgrindChild(name)) ... await countRound(counted, { warm, warmRounds, pauseMs })
/* global setTimeout */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const childEnv = (name) => `${name.toUpperCase().replace(/-/g, '_')}_CHILD`;

/** True in the process callgrind runs (the probe's child). */
export function isCallgrindChild(name) {
  return process.env[childEnv(name)] !== undefined;
}

/**
 * Runs `node [nodeArgs] probeFile [args]` under callgrind and answers the instructions of the dump
 * the child took after zeroing the counters (countRound), the dump's path and `done()`, which
 * removes the working directory. Exits with a one-line error when the run fails.
 */
export function underCallgrind(name, probeFile, args, nodeArgs = []) {
  const work = mkdtempSync(`${tmpdir()}/${name}-`);
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${work}/${name}.%p`,
      process.execPath,
      ...nodeArgs,
      probeFile,
      ...args,
    ],
    { cwd: work, env: { ...process.env, [childEnv(name)]: '1' }, encoding: 'utf8' },
  );
  // The dump taken after the counters were zeroed (callgrind_control -z, then -d).
  const dump = readdirSync(work).find((f) => f.startsWith(`${name}.`) && f.endsWith('.1'));
  if (run.status !== 0 || !dump) {
    console.error(`callgrind run failed (${run.status}): ${(run.stderr ?? '').slice(-2000)}`);
    rmSync(work, { recursive: true, force: true });
    process.exit(1);
  }
  const dumpPath = `${work}/${dump}`;
  const ir = Number(/^summary: (\d+)/m.exec(readFileSync(dumpPath, 'utf8'))?.[1]);
  return {
    ir,
    dumpPath,
    pid: dump.split('.')[1],
    done: () => rmSync(work, { recursive: true, force: true }),
  };
}

/**
 * In the child: `warm()` run `warmRounds` times with pauses (so that the optimizing compiler
 * finishes), then the counters zeroed, `counted()` run once, and dumped.
 */
export async function countRound(counted, { warm = counted, warmRounds = 6, pauseMs = 100 } = {}) {
  for (let i = 0; i < warmRounds; i++) {
    warm();
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  execFileSync('callgrind_control', ['-z', String(process.pid)], { stdio: 'ignore' });
  counted();
  execFileSync('callgrind_control', ['-d', String(process.pid)], { stdio: 'ignore' });
}
