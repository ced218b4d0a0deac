// Finds a program that comes from a Debian package, installing the package with apt-get when it is
// missing and we are root; otherwise fails with the package's exact name. Used by the test setup
// and the benchmarks, so a fresh Debian machine needs nothing installed by hand.
import { execFileSync, spawnSync } from 'node:child_process';

function which(program) {
  const r = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

let updated = false;

/**
 * Returns the path of `program`, installing Debian package `pkg` first if needed.
 * @param {string} program
 * @param {string} pkg
 * @returns {string}
 */
export function requireProgram(program, pkg) {
  const found = which(program);
  if (found !== undefined) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || which('apt-get') === undefined) {
    throw new Error(`"${program}" is not installed. Install the Debian package "${pkg}" (apt-get install ${pkg}).`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  process.stderr.write(`[setup] installing ${pkg} with apt-get...\n`);
  if (!updated) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    updated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  const installed = which(program);
  if (installed === undefined) throw new Error(`installing "${pkg}" did not provide "${program}"`);
  return installed;
}
