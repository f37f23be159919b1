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
