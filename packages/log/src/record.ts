/** One record of the log, as read back. */
export interface LogRecord {
  /** Its sequence number: u64 on disk, a safe integer here; the first record of a new log is 0. */
  readonly seq: number;
  /** When it was appended, in milliseconds since the epoch. */
  readonly timestamp: number;
  /** Small string headers (ids, keys, a target URL); `{}` when none. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body. Records of one read may share one underlying buffer; copy a body to keep it apart. */
  readonly body: Buffer;
}

/** What `append` and `appendBatch` take: a body, or a body with headers. Strings are stored as UTF-8. */
export type AppendInput =
  | Buffer
  | string
  | { readonly body: Buffer | string; readonly headers?: Readonly<Record<string, string>> };
