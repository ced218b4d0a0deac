// `q-outbox serve --sink kafka://...` as a child process in front of the @q/kafka-testkit broker:
// a single message and an NDJSON batch reach the topic with their keys (the outbox id for one
// sent without), their headers and the outbox id header, in order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUTBOX_ID_HEADER } from '@q/core';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { readTopic } from '../../kafka/test/support/target.js';
import { json } from './server-support/in-process.js';
import { type ProxyProcess, startProxyProcess } from './server-support/proxy-process.js';

let broker: KafkaTestBroker | undefined;
let proc: ProxyProcess | undefined;
let http: Client | undefined;
let dir: string | undefined;
afterEach(async () => {
  await http?.close();
  await proc?.stop('SIGKILL');
  await broker?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('q-outbox serve with a Kafka sink', () => {
  it('a message and a batch reach the topic with key, headers and q-outbox-id, in order', async () => {
    broker = await startKafkaBroker();
    broker.cluster.createTopic('orders', 1);
    dir = mkdtempSync(join(tmpdir(), 'q-outbox-kafka-'));
    proc = await startProxyProcess([
      '--dir',
      dir,
      '--sink',
      `kafka://${broker.bootstrap.join(',')}/orders`,
      '--port',
      '0',
      '--id',
      'proxy-k',
    ]);
    http = new Client(proc.http);
    const single = await http.request({
      path: '/v1/messages',
      method: 'POST',
      body: 'first',
      headers: { 'q-key': 'customer-1', 'q-header-trace': 'abc' },
    });
    expect(single.statusCode).toBe(200);
    const first = await json(single.body);
    expect(first).toEqual({ id: 'proxy-k:0', duplicate: false });
    const lines = [
      { body: 'second', key: 'customer-2', headers: { trace: 'def' } },
      { bodyBase64: Buffer.from('third').toString('base64') },
    ];
    const batch = await http.request({
      path: '/v1/messages/batch',
      method: 'POST',
      body: lines.map((l) => JSON.stringify(l)).join('\n'),
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(batch.statusCode).toBe(200);
    const { ids } = (await json(batch.body)) as { ids: string[] };

    const records = await readTopic(
      new Kafka({ clientId: 'q-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }),
      'orders',
      3,
    );
    expect(records).toEqual([
      { partition: 0, key: 'customer-1', value: 'first', headers: { trace: 'abc', [OUTBOX_ID_HEADER]: first.id } },
      { partition: 0, key: 'customer-2', value: 'second', headers: { trace: 'def', [OUTBOX_ID_HEADER]: ids[0] } },
      // Without a key the outbox id is the key: a replay lands on the partition of the first write.
      { partition: 0, key: ids[1], value: 'third', headers: { [OUTBOX_ID_HEADER]: ids[1] } },
    ]);
  });
});
