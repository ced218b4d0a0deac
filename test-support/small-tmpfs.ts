import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A tmpfs of a few MiB for tests that need a real full disk (ENOSPC). */
export interface SmallTmpfs {
  /** Where it is mounted (a fresh directory under the system's temp dir). */
  readonly dir: string;
  /** Why it could not be mounted (not Linux, not root, mount refused); undefined when mounted. */
  readonly skipReason: string | undefined;
  /** Unmounts it (lazily when busy) and removes the directory. */
  dispose(): void;
}

/**
 * Mounts a tmpfs of `sizeMiB` on a new directory named after `prefix`, logging why not when it cannot,
 * so the caller can skip its tests by `skipReason` (`describe.skipIf`).
 */
export function mountSmallTmpfs(prefix: string, sizeMiB = 1): SmallTmpfs {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const skipReason = mount(dir, sizeMiB);
  if (skipReason) console.log(`${prefix}: ENOSPC tests skipped, ${skipReason}`);
  return {
    dir,
    skipReason,
    dispose() {
      if (!skipReason) {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function mount(dir: string, sizeMiB: number): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not running as root (mounting a tmpfs needs it)';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
}
