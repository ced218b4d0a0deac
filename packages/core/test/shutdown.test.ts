import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/shutdown-worker.ts', import.meta.url));

describe('ShutdownManager in a real process', () => {
  it('SIGTERM flushes every buffered task before the process ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-shutdown-'));
    const file = join(dir, 'out.txt');
    try {
      const child = spawn(process.execPath, ['--conditions=@q/source', '--import', 'tsx', worker, file], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`worker exited early: ${code}`)));
      });
      const started = Date.now();
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      child.kill('SIGTERM');
      const signal = await exited;
      expect(signal).toBe('SIGTERM');
      // Ended once the flushes were done, well before the 5 s force-quit.
      expect(Date.now() - started).toBeLessThan(4000);
      const lines = readFileSync(file, 'utf8').trim().split('\n').map(Number);
      expect(lines.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
