import type { BrokerView, ClusterView } from './cluster-view.js';
import type { Reader } from './protocol/reader.js';
import type { Writer } from './protocol/writer.js';

/**
 * What a handler gets for one request. `cluster` and `broker` are the serving `Cluster` and `Broker`,
 * typed as the views handlers need so that API modules do not import the classes that register them.
 */
export interface RequestContext {
  /** The request's API key. */
  readonly apiKey: number;
  /** The request's API version. */
  readonly version: number;
  /** The id the response must carry. */
  readonly correlationId: number;
  /** The client id of the request header; `null` when the client sent none. */
  readonly clientId: string | null;
  /** The request body, positioned after the header. */
  readonly body: Reader;
  /** The cluster's state, shared by every broker. */
  readonly cluster: ClusterView;
  /** The broker the request came to. */
  readonly broker: BrokerView;
  /** Aborted when the connection closes or the broker stops: long polls end. */
  readonly signal: AbortSignal;
}

/** One API key: its name, the versions implemented, and its handler. */
export interface ApiDefinition {
  /** The API key (0 Produce, 1 Fetch, ...). */
  readonly key: number;
  /** The API's name as Kafka's protocol guide spells it (`JoinGroup`), for logs and hooks. */
  readonly name: string;
  /** Lowest version whose layout is implemented; lower requests get UNSUPPORTED_VERSION or a closed connection. */
  readonly minImplemented: number;
  /** Highest version implemented (always non-flexible). */
  readonly maxVersion: number;
  /** Returns the response body, or null when the request gets no response (Produce with acks=0). */
  handle(ctx: RequestContext): Promise<Writer | null> | Writer | null;
}
