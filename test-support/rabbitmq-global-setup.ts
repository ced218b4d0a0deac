import type { TestProject } from 'vitest/node';
import { startRabbitMq } from './rabbitmq-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The RabbitMQ the suite shares: our private node, or `AMQP_URL`. */
    amqpUrl: string;
  }
}

/**
 * One private RabbitMQ node for the whole run, on free loopback ports with its own directory,
 * unless AMQP_URL points the suite at an external broker. Tests that stop, freeze or kill a broker
 * start their own with `startRabbitMq()`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.AMQP_URL;
  if (external !== undefined && external !== '') {
    project.provide('amqpUrl', external);
    return async () => {};
  }
  const server = await startRabbitMq();
  project.provide('amqpUrl', server.url);
  return () => server.dispose();
}
