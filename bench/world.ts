/**
 * The synthetic players of the reports and analyses benchmarks (bench/reports.ts
 * describes them), and the same activity as event rows: a TSV for MySQL's
 * LOAD DATA and DuckDB's read_csv, and the indexed InnoDB table it loads into.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { addDays } from '../core/day';
import type { Pool } from '../infra/mysql';

/** Day D, the last of the world's days. */
export const DAY = '20261130';
/** The world's days: 31 ending on D. */
export const WINDOW = 31;
/** Older players: 30% regulars, on 25% of days; the rest dormant, on 1% (DAU ≈ 8%, MAU ≈ 48% of them). */
const OLD_REGULAR = 0.3;
const OLD_ACTIVE = { regular: 0.25, dormant: 0.01 } as const;
const NEW_PER_DAY = 0.004;

/** The players and days of one size. Day k = 0 … 30 is D − 30 + k. */
export class World {
  readonly old: number;
  readonly perDay: number;
  readonly days: string[];
  /** Per older player, the day k it registers on after playing before (−1: registered before the window). */
  readonly lateRegistration: Int8Array;
  readonly stragglersPerDay: number;

  constructor(
    readonly users: number,
    stragglers: number,
  ) {
    this.perDay = Math.round(users * NEW_PER_DAY);
    this.old = users - WINDOW * this.perDay;
    this.days = Array.from({ length: WINDOW }, (_, k) => addDays(DAY, k - WINDOW + 1));
    this.lateRegistration = new Int8Array(this.old).fill(-1);
    this.stragglersPerDay = Math.round(this.perDay * stragglers);
    for (let k = 0; k < WINDOW; k++) {
      for (let j = 0; j < this.stragglersPerDay; j++) {
        const u = hash(j, 1000 + k) % this.old;
        if (this.lateRegistration[u] === -1) this.lateRegistration[u] = k;
      }
    }
  }

  /** Calls `visit` for each player active on day k, in index order; `registers` on its registration day. */
  eachActive(k: number, visit: (user: number, registers: boolean) => void): void {
    const [regular, dormant] = [OLD_ACTIVE.regular * 2 ** 32, OLD_ACTIVE.dormant * 2 ** 32];
    for (let u = 0; u < this.old; u++) {
      if (this.lateRegistration[u] === k) visit(u, true);
      else if (hash(u, k) < (hash(u, -1) < OLD_REGULAR * 2 ** 32 ? regular : dormant)) visit(u, false);
    }
    for (let c = 0; c <= k; c++) {
      const limit = c === k ? 2 ** 32 : 0.4 * (k - c) ** -0.5 * 2 ** 32;
      const first = this.old + c * this.perDay;
      for (let u = first; u < first + this.perDay; u++) if (c === k || hash(u, k) < limit) visit(u, c === k);
    }
  }

  bitmap(k: number, kind: 'active' | 'new'): Buffer {
    const bits = Buffer.alloc(Math.ceil(this.users / 8));
    // Redis numbers bits from the most significant bit of byte 0 (SETBIT / BITFIELD order).
    const set = (u: number) => (bits[u >> 3]! |= 0x80 >> (u & 7));
    if (kind === 'active') this.eachActive(k, set);
    else this.eachActive(k, (u, registers) => registers && set(u));
    return bits;
  }
}

/** murmur3's finalizer over (user, day): the same activity for every representation. */
export function hash(u: number, k: number): number {
  let x = Math.imul(u, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Game 1's activity as event rows, `1\t<user>\t<login|register>\t<YYYY-MM-DD HH:MM:SS>`
 * (`register` on a player's registration day), into a TSV at `path`: day k of
 * the world dated `days[k]` (past its 31 days its older players and cohorts go
 * on playing), each row at second `second(user, k)` of its day (0 … 86,399).
 * Written a day at a time in chunks of about 1 MiB. Returns the rows written.
 */
export async function writeEventTsv(path: string, w: World, days: readonly string[], second: (user: number, k: number) => number): Promise<number> {
  let rows = 0;
  // Each second of a day as "HH:MM:SS\n", once: 26 M rows are mostly string building.
  const clock = Array.from({ length: 86_400 }, (_, s) => `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}\n`);
  function* chunks(): Generator<string> {
    for (let k = 0; k < days.length; k++) {
      const date = days[k]!.replace(/(\d{4})(\d{2})(\d{2})/, '$1-$2-$3');
      const [login, register] = [`\tlogin\t${date} `, `\tregister\t${date} `];
      const day: string[] = [];
      let chunk = '';
      w.eachActive(k, (u, registers) => {
        if (u >= w.users) return; // the World's cohorts past its 31 days do not exist
        chunk += '1\t' + u + (registers ? register : login) + clock[second(u, k)]!;
        rows++;
        if (chunk.length > 1 << 20) {
          day.push(chunk);
          chunk = '';
        }
      });
      day.push(chunk);
      yield* day;
    }
  }
  // pipeline: written as the file takes it, and a failed write (disk full, the file closed) rejects instead of waiting for ever.
  await pipeline(Readable.from(chunks()), createWriteStream(path));
  return rows;
}

/** LOAD DATA from the TSV into a new InnoDB `table`, then the indexes (faster than indexing row by row). */
export async function loadSql(mysql: Pool, table: string, tsv: string): Promise<{ loadMs: number; indexMs: number }> {
  await mysql.query(`CREATE TABLE ${table} (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    game_id INT UNSIGNED NOT NULL,
    user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    type VARCHAR(16) NOT NULL,
    ts DATETIME NOT NULL
  ) ENGINE=InnoDB`);
  const t0 = performance.now();
  await mysql.query({ sql: `LOAD DATA LOCAL INFILE 'events.tsv' INTO TABLE ${table} (game_id, user_id, type, ts)`, infileStreamFactory: () => createReadStream(tsv) });
  const t1 = performance.now();
  await mysql.query(`ALTER TABLE ${table} ADD KEY by_day (game_id, ts, user_id), ADD KEY by_type (game_id, type, ts, user_id), ADD KEY by_user (game_id, user_id, ts)`);
  await mysql.query(`ANALYZE TABLE ${table}`);
  return { loadMs: t1 - t0, indexMs: performance.now() - t1 };
}
