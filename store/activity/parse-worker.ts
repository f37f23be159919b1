/**
 * A parse worker's thread (started by parse-pool.ts): pieces of JSON lines
 * in, {@link ParsedPiece} columns out, in the order asked. Imports only what
 * checking needs, so the thread is up in about a tenth of a second.
 */
import { parentPort } from 'node:worker_threads';
import { parseMessages, parsePiece, transferables, type ParsedPiece } from './parse-piece';

/** A piece to parse: its text, or its UTF-8 bytes (decoded here, off the ingesting thread); or stream messages, each one line. */
export interface PieceRequest {
  readonly id: number;
  readonly text?: string;
  readonly bytes?: Uint8Array;
  /** Stream messages (parse-piece.ts `joinMessages`), each one line. */
  readonly messages?: { readonly text: string; readonly ends: Int32Array };
  readonly maxReported: number;
}

export type PieceReply = { readonly id: number; readonly piece: ParsedPiece } | { readonly id: number; readonly error: string };

parentPort?.on('message', (request: PieceRequest) => {
  let reply: PieceReply;
  try {
    // Node's UTF-8 decoding, as StringDecoder's in lines.ts (a byte order mark stays, for the line check to drop).
    const { bytes, messages } = request;
    const piece = messages
      ? parseMessages(messages.text, messages.ends, request.maxReported)
      : parsePiece(request.text ?? Buffer.from(bytes!.buffer, bytes!.byteOffset, bytes!.byteLength).toString('utf8'), request.maxReported);
    parentPort!.postMessage({ id: request.id, piece } satisfies PieceReply, transferables(piece));
    return;
  } catch (err) {
    reply = { id: request.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  parentPort!.postMessage(reply);
});
parentPort?.postMessage('ready');
