// `kubectl kustomize` for the tests of deploy/kubernetes/: finds kubectl (installing Debian's
// kubernetes-client when it can, as `npm test`'s pretest does) and builds a kustomization.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './kubernetes-schema.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** deploy/kubernetes/ of this repository. */
export const K8S_DIR = join(ROOT, 'deploy', 'kubernetes');

const has = (bin: string) =>
  spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

/**
 * kubectl, installed by the test-dependency script when it is missing; undefined (with the
 * reason on stderr) only when it is missing and cannot be installed here.
 */
export function findKubectl(): string | undefined {
  if (has('kubectl')) return 'kubectl';
  spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-test-deps.mjs')], {
    stdio: 'inherit',
  });
  if (has('kubectl')) return 'kubectl';
  process.stderr.write(
    'SKIPPED kubectl kustomize builds: kubectl is missing and could not be installed ' +
      '(Debian: apt-get install kubernetes-client).\n',
  );
  return undefined;
}

/** The objects `kubectl kustomize` builds from `dir` (relative to deploy/kubernetes/). */
export async function kustomizeBuild(kubectl: string, dir: string): Promise<K8sObject[]> {
  const { stdout } = await run(kubectl, ['kustomize', join(K8S_DIR, dir)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject);
}
