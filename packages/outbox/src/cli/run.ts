/**
 * The `q-outbox` command's entry point (bin/q-outbox.js loads it): runs {@link main} on the
 * process's arguments and exits with its code. It exits explicitly: a client library's timer left
 * behind must not keep a stopped proxy alive.
 * @packageDocumentation
 */
import { main } from './main.js';

process.exit(await main(process.argv.slice(2)));
