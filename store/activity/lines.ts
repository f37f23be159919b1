/**
 * Lines of a stream, a chunk's worth at a time: what readline gives
 * (`crlfDelay: Infinity`: a line ends at \n, \r\n or a lone \r; the last
 * line need not end; UTF-8 decoded across chunk boundaries) without its
 * per-line event and promise, which cost more than parsing the line.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * The lines of `input`, in batches (one per chunk read; a batch may be
 * empty). Returning early leaves `input` open and paused, as closing a
 * readline interface does.
 */
export async function* lineBatches(input: Readable): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  /** The start of a line not yet ended; a trailing \r in it is a line end waiting to see if \n follows. */
  let rest = '';
  const split = (text: string): string[] => {
    const lines: string[] = [];
    let start = 0;
    if (rest.length > 0 && rest.charCodeAt(rest.length - 1) === 13) {
      // A \r ended the previous chunk: it ended a line, and a \n right after belongs to it.
      lines.push(rest.slice(0, -1));
      rest = '';
      if (text.charCodeAt(0) === 10) start = 1;
    }
    if (text.indexOf('\r', start) === -1) {
      let nl = text.indexOf('\n', start);
      if (nl !== -1 && rest.length > 0) {
        lines.push(rest + text.slice(start, nl));
        rest = '';
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      while (nl !== -1) {
        lines.push(text.slice(start, nl));
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
    } else {
      for (let i = start; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        if (c === 13 && i + 1 === text.length) break; // wait for the next chunk: \r\n is one line end
        lines.push(rest + text.slice(start, i));
        rest = '';
        if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
    }
    rest += start === 0 ? text : text.slice(start);
    return lines;
  };
  for await (const chunk of input.iterator({ destroyOnReturn: false }) as AsyncIterable<string | Buffer>) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (text.length > 0) yield split(text);
  }
  const tail = decoder.end();
  const last = tail.length > 0 ? split(tail) : [];
  if (rest.length > 0) last.push(rest.charCodeAt(rest.length - 1) === 13 ? rest.slice(0, -1) : rest);
  if (last.length > 0) yield last;
}

/** Pieces are at least this long (unless the input ends): a message to a parse worker costs the same for 1 line or 1,000. */
const MIN_PIECE = 64 * 1024;

/**
 * The input in pieces of whole lines, as read (Buffers stay undecoded, for
 * a parse worker to decode: a piece is cut right after a \n, or after a
 * lone \r once the next character is known, and neither byte occurs inside
 * a UTF-8 sequence, so decoding pieces apart gives the same text). Lines
 * and line numbers are lineBatches' (parse-piece.ts `parsePiece` cuts a
 * piece as lineBatches cuts a stream). A line longer than a chunk stays
 * whole. Returning early leaves `input` open and paused, as lineBatches does.
 */
export async function* linePieces(input: Readable): AsyncGenerator<string | Buffer> {
  /** Read and not yet given out: less than MIN_PIECE, or ending in a line not ended yet. */
  let parts: Array<string | Buffer> = [];
  let size = 0;
  /** A string came (an object-mode stream): pieces are strings, Buffers decoded where they meet one. */
  let text = false;
  const take = (): string | Buffer => {
    let whole: string | Buffer;
    if (!text) whole = Buffer.concat(parts as Buffer[]);
    else {
      const out: string[] = [];
      let bytes: Buffer[] = [];
      for (const part of parts) {
        if (typeof part !== 'string') bytes.push(part);
        else {
          if (bytes.length > 0) out.push(Buffer.concat(bytes).toString('utf8'));
          bytes = [];
          out.push(part);
        }
      }
      if (bytes.length > 0) out.push(Buffer.concat(bytes).toString('utf8'));
      whole = out.join('');
    }
    parts = [];
    size = 0;
    return whole;
  };
  for await (const chunk of input.iterator({ destroyOnReturn: false }) as AsyncIterable<string | Buffer>) {
    if (chunk.length === 0) continue;
    if (typeof chunk === 'string') text = true;
    parts.push(chunk);
    size += chunk.length;
    if (size < MIN_PIECE) continue;
    let cut = lastIndexOf(chunk, 10) + 1;
    if (cut === 0) {
      // No \n: a lone \r ends a line too, once the character after it is known (it is no \n).
      const cr = lastIndexOf(chunk, 13);
      if (cr !== -1 && cr < chunk.length - 1) cut = cr + 1;
    }
    if (cut === 0) continue;
    if (cut === chunk.length) {
      yield take();
      continue;
    }
    const restOf = chunk.slice(cut);
    parts[parts.length - 1] = chunk.slice(0, cut);
    const piece = take();
    parts.push(restOf);
    size = restOf.length;
    yield piece;
  }
  if (parts.length > 0) yield take();
}

function lastIndexOf(chunk: string | Buffer, code: number): number {
  return typeof chunk === 'string' ? chunk.lastIndexOf(String.fromCharCode(code)) : chunk.lastIndexOf(code);
}
