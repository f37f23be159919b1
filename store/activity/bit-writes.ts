/**
 * Setting a batch's bits of one bitmap key in one script call, with the
 * bytes of the result exactly those of SETBIT (or BITFIELD SET u1) on each
 * bit. Where set bits lie close together (new users get consecutive
 * indexes; a big game's regulars fill their bytes), they travel as byte
 * ranges, each OR-ed into the key: GETRANGE, OR in Lua, SETRANGE only if a
 * byte changed. Lone bits travel as packed offsets and are set by BITFIELD
 * inside the script. Either way, one argument per range or per bit instead of
 * four per bit, and the string ends at the byte of the highest bit, as with SETBIT.
 */
import type { ChainableCommander } from 'ioredis';
import { LuaScript } from './lua';

/**
 * KEYS[1] a bitmap. ARGV[1] ranges, packed: per range a little-endian
 * uint32 first byte and uint32 length, then that many bytes to OR in (the
 * last one never 0). ARGV[2] single bits: little-endian uint32 offsets.
 */
export const OR_BITS = new LuaScript(`
local key, ranges, bits = KEYS[1], ARGV[1], ARGV[2]
local pos = 1
while pos <= #ranges do
  local start, len, at = struct.unpack('<I4I4', ranges, pos)
  local mask = string.sub(ranges, at, at + len - 1)
  pos = at + len
  local cur = redis.call('GETRANGE', key, start, start + len - 1)
  if #cur == 0 then
    redis.call('SETRANGE', key, start, mask)
  else
    local out, changed = {}, false
    for i = 1, len do
      local c = string.byte(cur, i) or 0
      local o = bit.bor(c, string.byte(mask, i))
      if o ~= c then changed = true end
      out[i] = o
    end
    if changed then
      local parts = {}
      for a = 1, len, 4000 do parts[#parts + 1] = string.char(unpack(out, a, math.min(a + 3999, len))) end
      redis.call('SETRANGE', key, start, table.concat(parts))
    end
  end
end
local args, n = {}, 0
for p = 1, #bits, 4 do
  local offset = struct.unpack('<I4', bits, p)
  args[n + 1], args[n + 2], args[n + 3], args[n + 4] = 'SET', 'u1', offset, 1
  n = n + 4
  if n >= 4000 then
    redis.call('BITFIELD', key, unpack(args, 1, n))
    n = 0
  end
end
if n > 0 then redis.call('BITFIELD', key, unpack(args, 1, n)) end
return 1
`);

/** Bytes of ranges per script call, and the longest range: bounds one call's time in Redis (a few milliseconds). */
const RANGE_BYTES_PER_CALL = 64 * 1024;
/** Lone bits per script call (each costs Redis about a quarter of a microsecond). */
const BITS_PER_CALL = 4000;
/** Set bytes at most this far apart belong to one range (the zero bytes between travel too). */
const MAX_GAP = 8;
/** A range carries at least this many bits, else its bits travel alone. */
const MIN_RANGE_BITS = 8;

/**
 * Queue the script calls that set `bits` (dense indexes, < 2^32) of the
 * bitmap `key`. {@link OR_BITS} must be loaded first in the same pipeline.
 */
export function queueBits(pipeline: ChainableCommander, key: string, bits: Iterable<number>): void {
  const sorted = Float64Array.from(bits).sort();
  if (sorted.length === 0) return;
  const ranges: Buffer[] = [];
  let rangeBytes = 0;
  let singles: number[] = [];
  const flush = (force: boolean) => {
    if (!force && rangeBytes < RANGE_BYTES_PER_CALL && singles.length < BITS_PER_CALL) return;
    if (rangeBytes === 0 && singles.length === 0) return;
    const packed = Buffer.allocUnsafe(4 * singles.length);
    singles.forEach((bit, i) => packed.writeUInt32LE(bit, 4 * i));
    pipeline.evalsha(OR_BITS.sha, 1, key, Buffer.concat(ranges), packed);
    ranges.length = 0;
    rangeBytes = 0;
    singles = [];
  };
  let i = 0;
  while (i < sorted.length) {
    // One run: bits whose bytes are at most MAX_GAP apart.
    const first = Math.floor(sorted[i]! / 8);
    let last = first;
    let j = i + 1;
    while (j < sorted.length) {
      const byte = Math.floor(sorted[j]! / 8);
      if (byte - last > MAX_GAP || byte - first >= RANGE_BYTES_PER_CALL) break;
      last = byte;
      j++;
    }
    if (j - i < MIN_RANGE_BITS) {
      for (let k = i; k < j; k++) singles.push(sorted[k]!);
    } else {
      const range = Buffer.alloc(8 + last - first + 1);
      range.writeUInt32LE(first, 0);
      range.writeUInt32LE(last - first + 1, 4);
      for (let k = i; k < j; k++) {
        const bit = sorted[k]!;
        range[8 + Math.floor(bit / 8) - first]! |= 0x80 >> bit % 8;
      }
      ranges.push(range);
      rangeBytes += range.length;
    }
    i = j;
    flush(false);
  }
  flush(true);
}
