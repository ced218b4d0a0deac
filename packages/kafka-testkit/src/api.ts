import type { BrokerView, ClusterView } from './cluster-view.js';
import type { Reader } from './protocol/reader.js';
import type { Writer } from './protocol/writer.js';

/**
 * What a handler gets for one request. `cluster` and `broker` are the serving `Cluster` and `Broker`,
 * typed as the views handlers need so that API modules do not import the classes that register them.
 */
export interface RequestContext {
  readonly apiKey: number;
  readonly version: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly body: Reader;
  readonly cluster: ClusterView;
  readonly broker: BrokerView;
  /** Aborted when the connection closes or the broker stops: long polls end. */
  readonly signal: AbortSignal;
}

/** One API key: its name, the versions implemented, and its handler. */
export interface ApiDefinition {
  readonly key: number;
  readonly name: string;
  /** Lowest version whose layout is implemented; lower requests get UNSUPPORTED_VERSION or a closed connection. */
  readonly minImplemented: number;
  /** Highest version implemented (always non-flexible). */
  readonly maxVersion: number;
  /** Returns the response body, or null when the request gets no response (Produce with acks=0). */
  handle(ctx: RequestContext): Promise<Writer | null> | Writer | null;
}
