/**
 * The `q-log` command's entry point (bin/q-log.js loads it): runs {@link main} on the process's
 * arguments and exits with its code.
 * @packageDocumentation
 */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
