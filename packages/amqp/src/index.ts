/**
 * `@q/amqp`: RabbitMQ for `@q/core`.
 * @packageDocumentation
 */
export {};
