// The in-process chaos suite into Kafka, direct-first (see support/chaos-in-process-suites.ts).
import { inProcessKafkaChaos } from './support/chaos-in-process-suites.js';

inProcessKafkaChaos('direct-first');
