import type { ApiDefinition } from './api.js';
import type { BrokerView, ClusterView } from './cluster-view.js';

/**
 * What a `Broker` needs of the cluster it serves: the handlers, the fault hooks and the log,
 * plus the view handed to handlers. `Cluster` implements it; the broker depends on this
 * interface rather than on the class because the cluster constructs its brokers.
 */
export interface BrokerHost extends ClusterView {
  /** The handler of an API key, if implemented. */
  api(key: number): ApiDefinition | undefined;
  /** Told about protocol problems. */
  log(line: string): void;
  /** Runs the request hooks for a request to `broker`; waits out delays; returns the strongest action. */
  faultFor(
    broker: BrokerView,
    request: { apiKey: number; version: number; clientId: string | null; body: Buffer },
    signal: AbortSignal,
  ): Promise<'close' | 'close-mid-response' | 'black-hole' | undefined>;
  /** Undefined when what was done so far is stored; else what settles once it is (answers wait for it). */
  durable(): Promise<void> | undefined;
}
