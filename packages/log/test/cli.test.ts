// The q-log command (bin/q-log.js) run as a child process on real log directories: inspect, tail
// (with --follow against a live writer), verify (clean, torn tail, a flipped bit, a bad index entry),
// and that it never takes the lock nor changes a byte.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLog, type SegmentLog } from '@q/log';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32c } from '../src/crc32c.js';

const bin = fileURLToPath(new URL('../bin/q-log.js', import.meta.url));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=@q/source', bin, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dirs: string[] = [];
const logs: SegmentLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A log of `n` records over several 2 KiB segments: text bodies, one binary, headers on every 10th. */
async function sample(n = 200): Promise<{ dir: string; log: SegmentLog }> {
  const dir = mkdtempSync(join(tmpdir(), 'q-log-cli-'));
  dirs.push(dir);
  const log = await openLog({ dir, segmentBytes: 2048, indexIntervalBytes: 256 });
  logs.push(log);
  for (let i = 0; i < n; i++) {
    if (i === 7) await log.append(Buffer.from([0, 255, 1, 128]));
    else await log.append({ body: `body ${i}`, headers: i % 10 === 0 ? { id: String(i) } : {} });
  }
  return { dir, log };
}

/** Frame offsets of a segment file: header of 16 bytes, then [u32 length after the CRC][u32 CRC]... */
function frames(path: string): number[] {
  const buf = readFileSync(path);
  const out: number[] = [];
  for (let p = 16; p + 8 <= buf.length; p += buf.readUInt32LE(p) + 8) out.push(p);
  return out;
}

function segments(dir: string): string[] {
  return readdirSync(join(dir, 'segments'))
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, 'segments', f));
}

/** Every file under `dir` with its hash and mtime. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, f);
    const st = statSync(path);
    if (!st.isFile()) continue;
    out[f] = `${createHash('sha256').update(readFileSync(path)).digest('hex')} ${st.mtimeMs}`;
  }
  return out;
}

describe('q-log', () => {
  it('--help prints the usage; a bad command line exits 2', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: q-log <command> DIR/);
    for (const command of ['inspect', 'tail', 'verify', '--follow', '--json']) expect(help.stdout).toContain(command);
    expect(run([]).status).toBe(2);
    expect(run(['nope', tmpdir()]).stderr).toContain('unknown command "nope"');
    expect(run(['inspect', join(tmpdir(), 'q-log-no-such-dir')]).status).toBe(2);
    expect(run(['tail', tmpdir(), '--from', '-1']).status).toBe(2);
  });

  it('inspect shows segments, first and next seq, cursors and the live lock holder, without changing a byte', async () => {
    const { dir, log } = await sample();
    const cursor = await log.cursor('sender');
    await cursor.commit(120);
    const before = snapshot(dir);
    const r = run(['inspect', dir, '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as {
      lock: { pid: number; alive: boolean };
      segments: { name: string; firstSeq: number; nextSeq: number; bytes: number }[];
      firstSeq: number;
      nextSeq: number;
      cursors: { name: string; position: number }[];
    };
    expect(report.lock).toMatchObject({ pid: process.pid, alive: true });
    expect(report.firstSeq).toBe(0);
    expect(report.nextSeq).toBe(200);
    expect(report.segments.length).toBeGreaterThan(2);
    for (let i = 1; i < report.segments.length; i++) {
      expect(report.segments[i]?.firstSeq).toBe(report.segments[i - 1]?.nextSeq);
    }
    expect(report.cursors).toEqual([{ name: 'sender', position: 120 }]);
    const text = run(['inspect', dir]);
    expect(text.stdout).toContain(`lock: pid ${process.pid} (alive`);
    expect(text.stdout).toContain('next seq: 200');
    expect(text.stdout).toMatch(/sender\s+position 120/);
    expect(snapshot(dir)).toEqual(before);
    await log.close();
    expect(run(['inspect', dir]).stdout).toContain('lock: none');
  });

  it('tail prints records from --from: text bodies as JSON strings, binary ones as base64 or hex, --json lines', async () => {
    const { dir } = await sample();
    const r = run(['tail', dir, '--from', '5', '--max', '6']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^5 \d{4}-\d\d-\d\dT[\d:.]+Z \{\} "body 5"$/);
    expect(lines[2]).toMatch(/^7 \S+ \{\} base64:AP8BgA==$/);
    expect(lines[5]).toMatch(/^10 \S+ \{"id":"10"\} "body 10"$/);
    expect(run(['tail', dir, '--from', '7', '--max', '1', '--hex']).stdout).toMatch(/ hex:00ff0180\n$/);
    const json = run(['tail', dir, '--from', '190', '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(json.map((j) => j.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 190 + i));
    expect(json[0]).toMatchObject({ seq: 190, encoding: 'utf8', body: 'body 190', headers: { id: '190' } });
    expect(typeof json[0].timestamp).toBe('number');
  });

  it('tail --follow prints records a live writer appends, across segment rolls, until SIGTERM', async () => {
    const { dir, log } = await sample(20);
    const child = spawn(
      process.execPath,
      ['--conditions=@q/source', bin, 'tail', dir, '--from', '15', '--follow', '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const seqs: number[] = [];
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() as string;
      for (const line of lines) seqs.push((JSON.parse(line) as { seq: number }).seq);
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const wait = async (n: number) => {
        const deadline = Date.now() + 20_000;
        while (seqs.length < n) {
          if (Date.now() > deadline) throw new Error(`saw ${seqs.length} of ${n}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await wait(5);
      for (let i = 20; i < 120; i++) await log.append(`body ${i}`);
      await wait(105);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(seqs).toEqual(Array.from({ length: 105 }, (_, i) => 15 + i));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('verify: a sound log exits 0 beside its live writer and changes nothing', async () => {
    const { dir } = await sample();
    const before = snapshot(dir);
    const r = run(['verify', dir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok: \d+ segments, 200 records \(seq 0\.\.199\)/m);
    expect(snapshot(dir)).toEqual(before);
  });

  it('verify: a flipped bit in a middle record exits 1 naming the segment and the offset', async () => {
    const { dir, log } = await sample();
    await log.close();
    const seg = segments(dir)[1] as string;
    const offset = frames(seg)[2] as number;
    const buf = readFileSync(seg);
    buf[offset + 20] = (buf[offset + 20] as number) ^ 0x04;
    writeFileSync(seg, buf);
    const r = run(['verify', dir]);
    expect(r.status).toBe(1);
    const name = seg.split('/').at(-1) as string;
    expect(r.stdout).toContain(`error: ${name} at byte ${offset}: bad record`);
    expect(r.stdout).toMatch(/CORRUPT \(1 error\)/);
    const json = JSON.parse(run(['verify', dir, '--json']).stdout) as {
      findings: { level: string; file: string; offset: number }[];
    };
    expect(json.findings.filter((f) => f.level === 'error')).toEqual([expect.objectContaining({ file: name, offset })]);
  });

  it('verify: a torn tail is a note (openLog cuts it) and exits 0; damage followed by valid records exits 1', async () => {
    const { dir, log } = await sample();
    await log.close();
    const last = segments(dir).at(-1) as string;
    const offsets = frames(last);
    const lastFrame = offsets.at(-1) as number;
    truncateSync(last, lastFrame + 5);
    const torn = run(['verify', dir]);
    expect(torn.status).toBe(0);
    expect(torn.stdout).toContain(`note: ${last.split('/').at(-1)} at byte ${lastFrame}: torn tail`);
    const buf = readFileSync(last);
    const second = offsets.at(-3) as number;
    buf[second + 9] = (buf[second + 9] as number) ^ 0x01;
    writeFileSync(last, buf);
    const damaged = run(['verify', dir]);
    expect(damaged.status).toBe(1);
    expect(damaged.stdout).toContain(`at byte ${second}: bad record`);
  });

  it('verify: an index entry pointing at the wrong place exits 1; a missing index is a note', async () => {
    const { dir, log } = await sample();
    await log.close();
    const seg = segments(dir)[0] as string;
    const idx = seg.replace(/\.seg$/, '.idx');
    rmSync(idx);
    const missing = run(['verify', dir]);
    expect(missing.status).toBe(0);
    expect(missing.stdout).toContain('index missing');
    // One well-formed entry (its CRC right) that says seq 3 is where seq 2 is.
    const entry = Buffer.alloc(16);
    entry.writeUInt32LE(3, 0);
    entry.writeUInt32LE(frames(seg)[2] as number, 4);
    entry.writeUInt32LE(crc32c(entry, 0, 12), 12);
    writeFileSync(idx, entry);
    const wrong = run(['verify', dir]);
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toContain(
      `error: ${idx.split('/').at(-1)} at byte 0: entry says seq 3 at byte ${frames(seg)[2]}`,
    );
  });
});
