// The in-process chaos suite into Kafka, write-ahead (see support/chaos-in-process-suites.ts).
import { inProcessKafkaChaos } from './support/chaos-in-process-suites.js';

inProcessKafkaChaos('write-ahead');
