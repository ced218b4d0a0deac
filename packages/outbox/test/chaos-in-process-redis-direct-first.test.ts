// The in-process chaos suite into Redis, direct-first (see support/chaos-in-process-suites.ts).
import { inProcessRedisChaos } from './support/chaos-in-process-suites.js';

inProcessRedisChaos('direct-first');
