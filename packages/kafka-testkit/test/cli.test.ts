import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));
const launcher = join(pkgDir, 'bin/q-kafka-testkit.js');
const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;

/** Runs the command to its end; `--conditions=@q/source` makes the launcher run the sources (as in the workspace). */
function run(args: string[], bin = launcher, sources = true) {
  const r = spawnSync(process.execPath, [...(sources ? ['--conditions=@q/source'] : []), bin, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the command, reads its first stdout line, moves 1,000 messages through it, stops it with SIGTERM. */
async function serveAndCount(
  bin: string,
  sources: boolean,
): Promise<{ address: string; consumed: number; code: number | null }> {
  const child = spawn(process.execPath, [...(sources ? ['--conditions=@q/source'] : []), bin, '--partitions', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const consumed = await roundTrip(address.split(','), 1000);
    child.kill('SIGTERM');
    return { address, consumed, code: await exited };
  } finally {
    child.kill('SIGKILL');
  }
}

/** Produces `n` distinct messages with kafkajs and consumes them back; returns how many distinct ones came. */
async function roundTrip(brokers: string[], n: number): Promise<number> {
  const kafka = new Kafka({ clientId: 'cli-test', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'cli', messages: Array.from({ length: n }, (_, i) => ({ value: String(i) })) });
  await producer.disconnect();
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId: 'cli-test', maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'cli', fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.add(String(message.value)) });
  try {
    await until(() => seen.size === n, 30_000, `${n} messages back`);
  } finally {
    await consumer.disconnect();
  }
  return seen.size;
}

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('q-kafka-testkit command', () => {
  it('--help prints the usage with every option and exits 0', () => {
    for (const flag of ['--help', '-h']) {
      const r = run([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: q-kafka-testkit \[options\]/);
      for (const option of [
        '--brokers',
        '--port',
        '--partitions',
        '--topic',
        '--data-dir',
        '--fsync',
        '--help',
        '--version',
      ]) {
        expect(r.stdout).toContain(option);
      }
    }
  }, 60_000);

  it("--version prints package.json's version", () => {
    for (const flag of ['--version', '-v']) {
      const r = run([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  }, 60_000);

  it('an unknown flag, a stray argument, a missing or bad value: one line on stderr, exit code 2', () => {
    const cases: [string[], string][] = [
      [['--frob'], "q-kafka-testkit: unknown option '--frob'"],
      [['stray'], "q-kafka-testkit: unexpected argument 'stray'"],
      [['--port'], "q-kafka-testkit: option '--port <value>' argument missing"],
      [['--brokers', 'x'], "q-kafka-testkit: --brokers must be an integer from 1 to 64, not 'x'"],
      [['--partitions', '0'], "q-kafka-testkit: --partitions must be an integer from 1 to 10000, not '0'"],
      [['--data-dir', ''], 'q-kafka-testkit: --data-dir must name a directory'],
      [['--fsync'], 'q-kafka-testkit: --fsync needs --data-dir'],
    ];
    for (const [args, start] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.startsWith(start), r.stderr).toBe(true);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    }
  }, 60_000);

  it('serves: prints its address, carries 1,000 messages end to end, exits 0 on SIGTERM', async () => {
    const r = await serveAndCount(launcher, true);
    expect(r.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(r.consumed).toBe(1000);
    expect(r.code).toBe(0);
  }, 60_000);

  it('works in a fresh clone: no dist, the sources through the workspace tsx', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-kafka-testkit-clone-'));
    temps.push(dir);
    for (const entry of ['package.json', 'bin', 'src'])
      cpSync(join(pkgDir, entry), join(dir, entry), { recursive: true });
    // The workspace root's node_modules, where a clone's tsx is found.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    expect(run(['--version'], join(dir, 'bin/q-kafka-testkit.js'), false).stdout).toBe(`${version}\n`);
    const r = await serveAndCount(join(dir, 'bin/q-kafka-testkit.js'), false);
    expect(r.consumed).toBe(1000);
  }, 120_000);

  it('works from a built package without tsx (what the published tarball holds)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'q-kafka-testkit-tarball-'));
    temps.push(dir);
    const files = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { files: string[] }).files;
    for (const entry of ['package.json', ...files.filter((f) => f !== 'dist')]) {
      cpSync(join(pkgDir, entry), join(dir, entry), { recursive: true });
    }
    const tsc = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(pkgDir, 'tsconfig.build.json'),
        '--outDir',
        join(dir, 'dist'),
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(tsc.status, tsc.stdout).toBe(0);
    // npm stamps every file of a tarball with one old time: the build is not older than the sources.
    const old = new Date('1985-10-26T08:15:00Z');
    for (const file of readdirSync(join(dir, 'src'), { recursive: true }))
      utimesSync(join(dir, 'src', String(file)), old, old);
    expect(run(['--version'], join(dir, 'bin/q-kafka-testkit.js'), false).stdout).toBe(`${version}\n`);
    const r = await serveAndCount(join(dir, 'bin/q-kafka-testkit.js'), false);
    expect(r.consumed).toBe(1000);
    expect(r.code).toBe(0);
  }, 180_000);
});

describe('spawnKafkaBroker', () => {
  it('runs the broker as its own process and stops it', async () => {
    const broker = await spawnKafkaBroker({ partitions: 2, topics: ['cli'] });
    try {
      expect(broker.pid).not.toBe(process.pid);
      expect(await roundTrip(broker.bootstrap, 1000)).toBe(1000);
    } finally {
      await broker.stop();
    }
    await broker.stop(); // a second stop is harmless
  }, 60_000);
});
