/**
 * Prints what a traced handler costs over the bare one, in microseconds per call, with no tracer
 * provider registered. Run in a plain Node process (through tsx) by noop.test.ts: vitest's module
 * transform turns every imported call into a property read, which costs more than the code measured.
 */
import type { ConsumeContext } from '@q/core';
import { kafkaConsumerTracing, tracedHandler } from '@q/otel';

const context: ConsumeContext = { attempt: 1, signal: new AbortController().signal };
const record = {
  topic: 't',
  partition: 0,
  offset: '1',
  key: null,
  value: Buffer.from('v'),
  headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
};
const bare = (m: typeof record, c: ConsumeContext): number => m.partition + c.attempt;
const wrapped = tracedHandler(bare, kafkaConsumerTracing({ group: 'g' }));
const calls = 200_000;

function best(f: typeof bare): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 7; round++) {
    const started = performance.now();
    let x = 0;
    for (let i = 0; i < calls; i++) x += f(record, context);
    fastest = Math.min(fastest, performance.now() - started);
    if (x !== calls) throw new Error(`wrong sum ${x}`);
  }
  return fastest;
}

const overheadUs = ((best(wrapped) - best(bare)) * 1000) / calls;
process.stdout.write(`${JSON.stringify({ overheadUs })}\n`);
