import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram } from '../../../scripts/lib/system-packages.mjs';

/** kcat (Debian's package, librdkafka inside) is installed by the setup when missing and we are root. */
let kcat: string | undefined;
let why = '';
try {
  kcat = requireProgram('kcat', 'kcat');
} catch (error) {
  why = (error as Error).message;
}

function run(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(kcat as string, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kcat ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

describe.skipIf(kcat === undefined)(`kcat (librdkafka) as a second client${kcat ? '' : ` — skipped: ${why}`}`, () => {
  let broker: KafkaTestBroker;
  let bootstrap: string;
  beforeAll(async () => {
    broker = await startKafkaBroker({ brokers: 1 });
    bootstrap = broker.bootstrap.join(',');
  });
  afterAll(async () => broker?.stop());

  it('-L lists brokers and topics', async () => {
    broker.cluster.createTopic('kcat-listed', 3);
    const out = await run(['-b', bootstrap, '-L']);
    expect(out).toContain('1 brokers:');
    expect(out).toContain('topic "kcat-listed" with 3 partitions');
  });

  it('produce plain, gzip and idempotent; consume; -Q offsets', async () => {
    const topic = `kcat-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    await run(['-b', bootstrap, '-P', '-t', topic, '-K:'], 'k1:plain1\nk2:plain2\n');
    await run(['-b', bootstrap, '-P', '-t', topic, '-K:', '-z', 'gzip'], 'k3:gzip1\nk4:gzip2\n');
    await run(['-b', bootstrap, '-P', '-t', topic, '-K:', '-X', 'enable.idempotence=true'], 'k5:idem1\nk6:idem2\n');
    const consumed = await run(['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%k=%s@%o\n']);
    expect(consumed.trim().split('\n')).toEqual([
      'k1=plain1@0',
      'k2=plain2@1',
      'k3=gzip1@2',
      'k4=gzip2@3',
      'k5=idem1@4',
      'k6=idem2@5',
    ]);
    const offsets = await run(['-b', bootstrap, '-Q', '-t', `${topic}:0:-1`]);
    expect(offsets).toContain(`${topic} [0] offset 6`);
  });

  it('-G consumes as a group', async () => {
    const topic = `kcat-group-${randomUUID()}`;
    broker.cluster.createTopic(topic, 2);
    await run(
      ['-b', bootstrap, '-P', '-t', topic, '-K:'],
      Array.from({ length: 7 }, (_, i) => `k${i}:v${i}`).join('\n'),
    );
    const out = await run([
      '-b',
      bootstrap,
      '-G',
      `g-${randomUUID()}`,
      topic,
      '-o',
      'beginning',
      '-c',
      '7',
      '-f',
      '%s\n',
    ]);
    expect(out.trim().split('\n').sort()).toEqual(Array.from({ length: 7 }, (_, i) => `v${i}`).sort());
  }, 30_000);

  it('the CLI runs the broker as its own process for kcat', async () => {
    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child: ChildProcess = spawn(
      process.execPath,
      ['--conditions=@q/source', '--import', 'tsx', cli, '--brokers', '2', '--topic', 'from-cli'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const address = await new Promise<string>((resolve, reject) => {
        child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
        child.once('exit', (code) => reject(new Error(`cli exited ${code}`)));
      });
      expect(address.split(',')).toHaveLength(2);
      const out = await run(['-b', address, '-L']);
      expect(out).toContain('2 brokers:');
      expect(out).toContain('topic "from-cli"');
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);
});
