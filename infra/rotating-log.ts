/**
 * A log file that rotates itself: past `maxBytes` the file becomes `.1`,
 * `.1` becomes `.2`, and so on, keeping `keep` old files. Writes are
 * synchronous, like Node's own writes to a file on stderr, so a line is on
 * disk before the next statement runs and nothing is lost at exit.
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';

export interface RotatingLogOptions {
  /** @defaultValue 10 MiB */
  readonly maxBytes?: number;
  /** Old files kept besides the current one. @defaultValue 5 */
  readonly keep?: number;
}

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_KEEP = 5;

export class RotatingLog {
  private fd: number;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    readonly path: string,
    options: RotatingLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.keep = options.keep ?? DEFAULT_LOG_KEEP;
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: string | Uint8Array): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // A single write larger than the limit still goes in whole, into a fresh file.
    if (this.size > 0 && this.size + data.length > this.maxBytes) this.rotate();
    writeSync(this.fd, data);
    this.size += data.length;
  }

  close(): void {
    closeSync(this.fd);
  }

  private rotate(): void {
    closeSync(this.fd);
    if (this.keep > 0) {
      // The oldest (`.keep`) is overwritten by the rename below it: that is the deletion.
      for (let i = this.keep - 1; i >= 1; i--) {
        const from = `${this.path}.${i}`;
        if (existsSync(from)) renameSync(from, `${this.path}.${i + 1}`);
      }
      renameSync(this.path, `${this.path}.1`);
    }
    this.fd = openSync(this.path, this.keep > 0 ? 'a' : 'w', 0o600);
    this.size = 0;
  }
}

/**
 * Send everything this process writes through `stream` (stdout, stderr) to
 * `log`. Output written by native code straight to the file descriptor
 * bypasses this; the daemon points those descriptors at a separate file.
 */
export function redirectStream(stream: NodeJS.WriteStream, log: RotatingLog): void {
  const write = (
    chunk: string | Uint8Array,
    encodingOrCallback?: BufferEncoding | ((err?: Error | null) => void),
    callback?: (err?: Error | null) => void,
  ): boolean => {
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    const encoding = typeof encodingOrCallback === 'string' ? encodingOrCallback : undefined;
    try {
      log.write(typeof chunk === 'string' && encoding ? Buffer.from(chunk, encoding) : chunk);
      done?.(null);
    } catch (err) {
      done?.(err as Error);
    }
    return true;
  };
  stream.write = write as typeof stream.write;
}
