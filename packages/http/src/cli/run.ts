/**
 * The `q-http` command's entry point (bin/q-http.js loads it): runs {@link main} on the process's
 * arguments and exits with its code. It exits explicitly: a timer left behind (a retry's, a keep-alive
 * socket's) must not keep a stopped server alive.
 * @packageDocumentation
 */
import { main } from './main.js';

process.exit(await main(process.argv.slice(2)));
