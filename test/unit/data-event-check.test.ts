/**
 * The line check's fast path (event-check.ts `scanLine`) must decide
 * exactly what JSON.parse followed by the value check decides: the same
 * events, the same refusals, the same reasons. Thousands of generated
 * lines, usual and odd (whitespace, key order, repeated and unknown keys,
 * escapes, every number form, nested values, broken JSON), each checked
 * both ways.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckedEvent, checkEventLine, checkEventValue, MAX_LINE_LENGTH } from '../../store/activity/event-check';
import { Readable } from 'node:stream';
import { lineBatches, linePieces } from '../../store/activity/lines';
import { checkedOf, joinMessages, parseMessages, parsePiece } from '../../store/activity/parse-piece';
import { MALFORMED } from '../helpers/data';

/** What the single-thread path did before the fast path: JSON.parse, then the value check. */
function reference(line: string): string | CheckedEvent {
  if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
  if (line.length > MAX_LINE_LENGTH) return `line longer than ${MAX_LINE_LENGTH} chars`;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'bad JSON';
  }
  const out = new CheckedEvent();
  return checkEventValue(value, out) ?? out;
}

function checked(line: string): string | CheckedEvent {
  const out = new CheckedEvent();
  return checkEventLine(line, out) ?? out;
}

/** A small deterministic generator (the same lines every run). */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * n);
  };
}

const NUMBERS = ['90071992547409931', '0', '-0', '7', '1', '42', '2147483647', '2147483648', '-3', '1.5', '1.0', '0.1', '1e3', '1E+2', '2e-1', '1764000000', '1764000000.5', '1764000000000', '12345678901234567', '9007199254740993', '01', '1.', '.5', '-', '+1', '1e', '0x10', 'NaN', 'Infinity'];
const STRINGS = ['"u1"', '""', '"login"', '"pay"', '"register"', '"online"', '"logout"', '"2026-11-24T10:00:00Z"', '"2026-11-24T10:00:00+08:00"', '"2026-02-30T10:00:00Z"', '"a\\"b"', '"a\\\\b"', '"caf\\u00e9"', '"café"', '"玩家"', '"tab\there"', '"line\\nbreak"', '"\\ud83d\\ude00"', '"😀"', `"${'x'.repeat(64)}"`, `"${'x'.repeat(65)}"`, '"9.99"', '"1.23456"', '"17"', '" ios "', '"unterminated'];
const OTHERS = ['true', 'false', 'null', '[]', '[1,2]', '{}', '{"a":1}', '{"game":1}'];
const KEYS = ['game', 'user', 'type', 'ts', 'server', 'channel', 'id', 'amount'];
const SPACES = ['', '', '', ' ', '  ', '\t', '\n', '\r\n', ' \t '];

function line(rnd: (n: number) => number): string {
  const sp = () => SPACES[rnd(SPACES.length)]!;
  // Half the lines are events as producers write them (in any key order, with any spacing).
  const usual = rnd(2) === 0;
  const value = (key: string): string => {
    const r = usual ? 0 : rnd(10);
    if (r < 6) {
      switch (key) {
        case 'game':
          return ['1', '7', '2147483647', '0', '"1"', '1.5', '2147483648', '-1'][rnd(usual ? 3 : 8)]!;
        case 'user':
          return ['"u1"', '"user-42"', '"玩家"', '"a\\"b"', '""', '42', `"${'u'.repeat(65)}"`][rnd(usual ? 4 : 7)]!;
        case 'type':
          return ['"login"', '"online"', '"register"', '"pay"', '"logout"', '1'][rnd(usual ? 4 : 6)]!;
        case 'ts':
          return ['1764000000', '1764000000.9', '"2026-11-24T10:00:00Z"', '"2026-11-24T10:00:00.123+08:00"', '1764000000000', '"yesterday"', '946684799', '90071992547409931'][rnd(usual ? 4 : 8)]!;
        case 'amount':
          return ['"9.99"', '5', '0.1', '1e2', '-5', '"1.23456"', '"x"'][rnd(usual ? 4 : 7)]!;
        case 'id':
          return ['"o1"', '17', '"order-\\u0041"', '-1', '""', '1.5', `"${'o'.repeat(129)}"`][rnd(usual ? 3 : 7)]!;
        case 'server':
          return usual ? ['3', '-2', '0'][rnd(3)]! : [NUMBERS, STRINGS][rnd(2)]![rnd(20)]!;
        default:
          return usual ? ['"ios"', '" android "', '""'][rnd(3)]! : [NUMBERS, STRINGS][rnd(2)]![rnd(20)]!;
      }
    }
    if (r < 8) return NUMBERS[rnd(NUMBERS.length)]!;
    if (r < 9) return STRINGS[rnd(STRINGS.length)]!;
    return OTHERS[rnd(OTHERS.length)]!;
  };
  const keys = KEYS.filter((_, i) => (usual && i < 4) || rnd(10) < 8);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = rnd(i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  if (!usual && rnd(5) === 0) keys.push(KEYS[rnd(KEYS.length)]!); // a repeated key: JSON.parse keeps the last
  if (rnd(10) === 0) keys.splice(rnd(keys.length + 1), 0, ['extra', 'Game', 'ts ', '"'][rnd(4)]!);
  const members = keys.map((k) => `${sp()}"${k === '"' ? '\\"' : k}"${sp()}:${sp()}${value(k)}${sp()}`);
  let text = `${sp()}{${members.join(',')}}${sp()}`;
  switch (usual ? 25 : rnd(25)) {
    case 0:
      text = text.replace(/}\s*$/, ',}');
      break;
    case 1:
      text = text.slice(0, rnd(text.length));
      break;
    case 2:
      text += ' x';
      break;
    case 3:
      text = `\ufeff${text}`;
      break;
    case 4:
      text = `[${text}]`;
      break;
  }
  return text;
}

describe('line check', () => {
  test('the fast path decides as JSON.parse and the value check do, reasons included', () => {
    const rnd = random(20261124);
    const lines = [...MALFORMED.map(([l]) => l), '', ' ', '{}', '{ }', '{"game":1,"user":"u","type":"login","ts":1764000000}'];
    for (let i = 0; i < 30_000; i++) lines.push(line(rnd));
    let events = 0;
    for (const l of lines) {
      const expected = reference(l);
      assert.deepEqual(checked(l), expected, l);
      if (typeof expected !== 'string') events++;
    }
    assert.ok(events > 1000, `only ${events} valid events generated`);
  });

  test('a piece is cut into lines, checked and reported as the single-thread path does', async () => {
    const rnd = random(4242);
    const ends = ['\n', '\r\n', '\r', '\n\n', '\r\n\r\n', '\n \n'];
    for (let t = 0; t < 300; t++) {
      const parts: string[] = [];
      for (let i = 0; i < 1 + rnd(40); i++) parts.push(rnd(8) === 0 ? ['', ' ', '\t', '\ufeff', '\u00a0'][rnd(5)]! : line(rnd), ends[rnd(ends.length)]!);
      if (rnd(2) === 0) parts.pop(); // no line end after the last line
      const text = parts.join('');
      // The single-thread path: lineBatches' lines, blank ones skipped, each checked.
      const expected: Array<[number, string | CheckedEvent]> = [];
      let n = 0;
      for await (const batch of lineBatches(Readable.from([text]))) {
        for (const l of batch) {
          if (l.trim() !== '') expected.push([n, checked(l)]);
          n++;
        }
      }
      const piece = parsePiece(text, 1000);
      const got: Array<[number, string | CheckedEvent]> = piece.rejections.map(([i, reason]) => [i, reason]);
      let e = 0;
      for (const [i, outcome] of expected) if (typeof outcome !== 'string') got.push([i, checkedOf(piece, e++, new CheckedEvent())]);
      got.sort((x, y) => x[0] - y[0]);
      assert.deepEqual({ lines: piece.lines, nonBlank: piece.nonBlank, count: piece.count, outcomes: got }, { lines: n, nonBlank: expected.length, count: e, outcomes: expected }, JSON.stringify(text));
    }
  });

  test('a stream cut into pieces (lines.ts linePieces) reads as lineBatches reads it, chunk boundaries anywhere', async () => {
    const rnd = random(99);
    const ends = ['\n', '\r\n', '\r'];
    for (let t = 0; t < 12; t++) {
      const parts: string[] = [];
      // 150-300 KB: several pieces of at least 64 KB; multi-byte characters and \r\n pairs fall across chunks.
      for (let size = 0; size < 150_000 + rnd(150_000); ) {
        const l = rnd(10) === 0 ? '' : `{"game":1,"user":"玩家-${rnd(1000)}-é","type":"login","ts":1764000000}`;
        parts.push(l, ends[rnd(ends.length)]!);
        size += l.length + 1;
      }
      const text = parts.join('');
      const bytes = Buffer.from(text);
      const chunks: Array<Buffer | string> = [];
      for (let at = 0; at < bytes.length; ) {
        let n = 1 + rnd(t % 2 ? 7000 : 300);
        // Half the time a chunk ends between the \r and the \n of a line end, where a cut would split one line end in two.
        if (rnd(2) === 0) {
          const crlf = bytes.indexOf('\r\n', at + n);
          if (crlf !== -1) n = crlf + 1 - at;
        }
        chunks.push(bytes.subarray(at, at + n));
        at += n;
      }
      const asText = t % 3 === 0;
      const input = asText ? [text.slice(0, 70_000), text.slice(70_000)] : chunks;
      const expected: string[] = [];
      for await (const batch of lineBatches(Readable.from(input))) expected.push(...batch);
      const got: string[] = [];
      let joined = '';
      for await (const piece of linePieces(Readable.from(input))) {
        const decoded = typeof piece === 'string' ? piece : piece.toString('utf8');
        joined += decoded;
        // Every piece but the last ends at a line end: its lines are whole.
        const lines = decoded.split(/\r\n|\r|\n/);
        if (lines[lines.length - 1] === '') lines.pop();
        got.push(...lines);
      }
      assert.equal(joined, text);
      assert.deepEqual(got, expected);
    }
  });

  test('stream messages are one line each, a blank one bad JSON', () => {
    const joined = joinMessages(['', '{"game":1,\n"user":"u","type":"login","ts":1764000000}', ' ', '{"game":1,"user":"u","type":"login","ts":1764000000} x']);
    const messages = parseMessages(joined.text, joined.ends, 10);
    assert.deepEqual({ count: messages.count, at: [...messages.at!.subarray(0, messages.count)], rejections: messages.rejections }, { count: 1, at: [1], rejections: [[0, 'bad JSON'], [2, 'bad JSON'], [3, 'bad JSON']] });
  });

});
