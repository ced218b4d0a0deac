import { InvalidOptionError } from '@q/core';

/** A Redis list sink, from `redis://[user:password@]host:port[/db]/key` (`rediss://` for TLS). */
export interface RedisSinkSpec {
  readonly kind: 'redis';
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly key: string;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
}

/** A Kafka topic sink, from `kafka://host:port[,host:port...]/topic`. */
export interface KafkaSinkSpec {
  readonly kind: 'kafka';
  readonly brokers: readonly string[];
  readonly topic: string;
}

/** Where the proxy's outbox forwards to. */
export type SinkSpec = RedisSinkSpec | KafkaSinkSpec;

const ALLOWED =
  'kafka://host:port[,host:port...]/topic or redis://[user:password@]host:port[/db]/key (rediss:// for TLS)';
/** Kafka's legal topic names. */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * The sink a `--sink` URL names.
 * @throws {InvalidOptionError} (option `sink`) saying what is wrong and what is allowed.
 */
export function parseSinkUrl(url: string): SinkSpec {
  try {
    return parse(url);
  } catch (error) {
    // decodeURIComponent's URIError for a bad %-escape.
    if (error instanceof URIError) throw new InvalidOptionError('sink', url, `${ALLOWED}: a bad %-escape`);
    throw error;
  }
}

function parse(url: string): SinkSpec {
  const scheme = /^([a-z]+):\/\//.exec(url)?.[1];
  if (scheme === 'kafka') return parseKafka(url);
  if (scheme === 'redis' || scheme === 'rediss') return parseRedis(url, scheme === 'rediss');
  throw new InvalidOptionError('sink', url, ALLOWED);
}

function parseKafka(url: string): KafkaSinkSpec {
  const rest = url.slice('kafka://'.length);
  const slash = rest.indexOf('/');
  const brokers = (slash === -1 ? rest : rest.slice(0, slash)).split(',');
  const topic = slash === -1 ? '' : decodeURIComponent(rest.slice(slash + 1));
  for (const broker of brokers) {
    const port = Number(HOST_PORT.exec(broker)?.[2]);
    if (!(port >= 1 && port <= 65535))
      throw new InvalidOptionError('sink', url, `${ALLOWED}: "${broker}" is not host:port`);
  }
  if (!TOPIC.test(topic))
    throw new InvalidOptionError('sink', url, `${ALLOWED}: the topic must be 1 to 249 of [A-Za-z0-9._-]`);
  return { kind: 'kafka', brokers, topic };
}

function parseRedis(url: string, tls: boolean): RedisSinkSpec {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError('sink', url, ALLOWED);
  }
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const parts = parsed.pathname.split('/').slice(1);
  let db = 0;
  if (parts.length === 2 && /^\d{1,9}$/.test(parts[0] as string)) db = Number(parts.shift());
  const key = parts.length === 1 ? decodeURIComponent(parts[0] as string) : '';
  if (parsed.hostname === '' || key === '' || parsed.search !== '' || parsed.hash !== '')
    throw new InvalidOptionError('sink', url, `${ALLOWED}: a host and one list key are needed`);
  return {
    kind: 'redis',
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db,
    key,
    tls,
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
  };
}

/** The sink's URL without its password, for logs. */
export function describeSink(spec: SinkSpec): string {
  return spec.kind === 'kafka'
    ? `kafka://${spec.brokers.join(',')}/${spec.topic}`
    : `${spec.tls ? 'rediss' : 'redis'}://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}/${spec.db}/${spec.key}`;
}
