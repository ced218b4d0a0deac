// The in-process chaos suite into Redis, write-ahead (see support/chaos-in-process-suites.ts).
import { inProcessRedisChaos } from './support/chaos-in-process-suites.js';

inProcessRedisChaos('write-ahead');
