import { promises as fsp } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatInspect, inspectLog } from './inspect.js';
import { formatRecord, formatRecordJson, tailLog } from './tail.js';
import { verifyLog } from './verify.js';

const USAGE = `Usage: q-log <command> DIR [options]

Reads an @q/log directory without taking its lock or writing anything,
so it may run beside the process writing the log.

Commands:
  inspect DIR                 segments (first and next seq, sizes, index),
                              cursors and their positions, the lock holder
  tail DIR [--from SEQ]       prints records from SEQ (default: the first kept)
         [--max N]            stop after N records
         [--follow]           keep printing new records until interrupted
         [--json]             one JSON object per line
         [--hex]              binary bodies in hex (default: base64)
  verify DIR                  checks every record's CRC-32C and sequence number
                              and every index entry; exit 0 when sound (a torn
                              tail, which openLog cuts, is a note), 1 on corruption
                              (printed with its file and byte offset)

Options:
  --json                      machine-readable output (inspect, tail, verify)
  -h, --help                  this text

Exit codes: 0 ok, 1 corruption found (verify) or a bad record stopped tail, 2 usage or I/O error.
`;

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`q-log: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    out.write(USAGE);
    return 0;
  }
  const [command, dir, ...extra] = positionals;
  if (command === undefined || dir === undefined || extra.length > 0) {
    process.stderr.write(`q-log: ${command === undefined ? 'a command' : 'one DIR'} is needed\n\n${USAGE}`);
    return 2;
  }
  try {
    const stat = await fsp.stat(dir).catch(() => undefined);
    if (stat?.isDirectory() !== true) throw new UsageError(`${dir} is not a directory`);
    return await run(command, dir, values, out);
  } catch (error) {
    process.stderr.write(`q-log: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
}

async function run(
  command: string,
  dir: string,
  values: ReturnType<typeof parse>['values'],
  out: NodeJS.WritableStream,
): Promise<number> {
  const json = values.json === true;
  switch (command) {
    case 'inspect': {
      const report = await inspectLog(dir);
      out.write(json ? `${JSON.stringify(report)}\n` : formatInspect(report));
      return 0;
    }
    case 'verify': {
      const r = await verifyLog(dir);
      if (json) out.write(`${JSON.stringify(r)}\n`);
      else {
        for (const f of r.findings) out.write(`${f.level}: ${f.file} at byte ${f.offset}: ${f.message}\n`);
        const errors = r.findings.filter((f) => f.level === 'error').length;
        out.write(
          `${errors === 0 ? 'ok' : `CORRUPT (${errors} error${errors === 1 ? '' : 's'})`}: ${r.segments} segments, ` +
            `${r.records} records (seq ${r.firstSeq ?? '-'}..${r.nextSeq === undefined ? '-' : r.nextSeq - 1}), ${r.bytes} bytes\n`,
        );
      }
      return r.findings.some((f) => f.level === 'error') ? 1 : 0;
    }
    case 'tail': {
      const from = count('--from', values.from, 0);
      const max = count('--max', values.max, Number.POSITIVE_INFINITY);
      const binary = values.hex === true ? 'hex' : 'base64';
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const r = await tailLog(
          dir,
          { from, max, follow: values.follow === true, pollMs: 100, signal: stop.signal },
          (record) => out.write(`${json ? formatRecordJson(record, binary) : formatRecord(record, binary)}\n`),
        );
        if (r.stoppedAt === undefined) return 0;
        process.stderr.write(
          `q-log: stopped at ${r.stoppedAt.file} byte ${r.stoppedAt.offset}: ${r.stoppedAt.reason}\n`,
        );
        return 1;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }
    default:
      process.stderr.write(`q-log: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      from: { type: 'string' },
      max: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      json: { type: 'boolean' },
      hex: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A non-negative integer option, or `fallback` when absent. */
function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new UsageError(`${name} takes a non-negative integer, got "${value}"`);
  return n;
}

/** A bad command line: exit code 2. */
class UsageError extends Error {}
