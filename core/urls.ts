/**
 * The server URLs gflow accepts, one validator per kind: the Redis and MySQL
 * URLs of the settings (`GFLOW_REDIS_URL`, `GFLOW_MYSQL_URL`, infra/config.ts)
 * and of the games registry (`gflow games add|update --redis/--mysql`).
 *
 * Strict on purpose: a URL is handed to a driver that reads more than a
 * server's address from it (mysql2 takes connection options from the query
 * string, `?multipleStatements=true` among them; ioredis reads `?db=`,
 * `?family=`...), and it is stored and shown. So only this form passes:
 *
 * - `redis://` or `rediss://` (TLS), `[user[:password]@]host[:port][/db]`,
 *   db a number from 0 to 15;
 * - `redis+cluster://` or `rediss+cluster://` (TLS),
 *   `[user[:password]@]host[:port][,host[:port]…]`: seed nodes of a Redis
 *   Cluster (any few of its masters; the client learns the rest from them),
 *   no database (a cluster has only database 0);
 * - `mysql://`, `[user[:password]@]host[:port][/database]`, database one
 *   plain name (letters, digits, `_`, `$`, at most 64);
 *
 * host a DNS name, an IPv4 address or a bracketed IPv6 address, port 1 to
 * 65535; no query string, no fragment, at most 1024 characters (the
 * registry's column). Characters outside these, in a user or password, are
 * percent-encoded (`%40` for `@`).
 * Pure code: safe to import from workflows.
 */
import { usageError } from './errors';

export type UrlKind = 'redis' | 'mysql';

/** What each kind accepts, in words: the end of every refusal. */
export const URL_FORMS: Readonly<Record<UrlKind, string>> = Object.freeze({
  redis:
    'redis://host:port or rediss://host:port, optionally with user:password@ before the host and /0 to /15 after the port, or redis+cluster://host:port,host:port… (seed nodes of a Redis Cluster; rediss+cluster:// with TLS), optionally with user:password@ before the first host, nothing else',
  mysql: 'mysql://host:port, optionally with user:password@ before the host and /database after the port (letters, digits, _ or $, at most 64), nothing else',
});

/** The scheme of a Redis Cluster's URL: its seed nodes, comma-separated. */
export const CLUSTER_SCHEME = 'redis+cluster';
/** The same over TLS, as `rediss://` is `redis://` over TLS. */
export const TLS_CLUSTER_SCHEME = 'rediss+cluster';

/** Longest URL accepted: the games registry's column. */
export const MAX_URL_LENGTH = 1024;

const SCHEMES: Readonly<Record<UrlKind, readonly string[]>> = { redis: ['redis', 'rediss', CLUSTER_SCHEME, TLS_CLUSTER_SCHEME], mysql: ['mysql'] };

/** redis+cluster :// [userinfo @] nodes [/ path]: nodes are split at commas and checked as hosts below. */
const CLUSTER_SHAPE = /^rediss?\+cluster:\/\/(?:([^/?#@]*)@)?([^/?#@]*)(\/[^?#]*)?(\?.*|#.*)?$/;
/** One seed node: host (a bracketed IPv6 address may hold colons) and an optional port. */
const NODE = /^(\[[^\]]*\]|[^:[\]]*)(?::(.*))?$/;

/** scheme :// [userinfo @] authority-host [: port] [/ path]; the parts are checked one by one below. */
const SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:([^/?#]*)@)?(\[[^\]/?#@]*\]|[^:/?#@[\]]*)(?::([^/?#@]*))?(\/[^?#]*)?(\?.*|#.*)?$/;
/** RFC 3986 userinfo characters: unreserved, sub-delims, `:` (between user and password) and percent escapes. */
const USERINFO = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const IPV6 = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
const MYSQL_DATABASE = /^[A-Za-z0-9_$]{1,64}$/;

/**
 * Why `value` is not an acceptable URL of `kind`, ending with what is
 * accepted (one line); `undefined` when it is acceptable.
 */
export function urlProblem(kind: UrlKind, value: unknown): string | undefined {
  const reason = reasonOf(kind, value);
  return reason === undefined ? undefined : `${reason}; use ${URL_FORMS[kind]}`;
}

/** Whether `value` is an acceptable URL of `kind`. */
export function isServerUrl(kind: UrlKind, value: unknown): value is string {
  return reasonOf(kind, value) === undefined;
}

/**
 * `value` if it is an acceptable URL of `kind`.
 * @param what names the value in the message, e.g. `Redis URL` or `--mysql`.
 * @throws UserError (exit 2), one line: the value (password hidden), what is wrong, what is accepted.
 */
export function checkServerUrl(kind: UrlKind, value: unknown, what: string): string {
  const problem = urlProblem(kind, value);
  if (problem !== undefined) throw usageError(`${what} ${shownUrl(value)} is not valid: ${problem}`);
  return value as string;
}

/** A Redis URL (`redis://`, `rediss://`, or `redis+cluster://`, `rediss+cluster://` for a cluster); see the module comment. @throws UserError (exit 2) */
export function checkRedisUrl(value: unknown, what = 'Redis URL'): string {
  return checkServerUrl('redis', value, what);
}

/** A MySQL URL (`mysql://`); see the module comment. @throws UserError (exit 2) */
export function checkMysqlUrl(value: unknown, what = 'MySQL URL'): string {
  return checkServerUrl('mysql', value, what);
}

function reasonOf(kind: UrlKind, value: unknown): string | undefined {
  if (typeof value !== 'string') return 'not text';
  if (value.length > MAX_URL_LENGTH) return `longer than ${MAX_URL_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\u009f]/.test(value)) return 'spaces and control characters are not allowed';
  if (kind === 'redis' && isClusterUrl(value)) return clusterReason(value);
  const m = SHAPE.exec(value);
  const schemes = SCHEMES[kind];
  if (!m || !schemes.includes(m[1]!)) {
    const forms = schemes.map((s) => `${s}://`);
    return `not a ${forms.length > 1 ? `${forms.slice(0, -1).join(', ')} or ${forms.at(-1)}` : forms[0]} URL`;
  }
  const [, , userinfo, host = '', port, path, rest] = m;
  if (rest !== undefined) return rest.startsWith('?') ? 'a query string is not allowed' : 'a fragment (#) is not allowed';
  if (userinfo !== undefined && !USERINFO.test(userinfo)) return 'the user or password has characters to percent-encode';
  const hostProblem = checkHost(host);
  if (hostProblem) return hostProblem;
  if (port !== undefined && !isPort(port)) return `the port ${quoted(port)} is not a number from 1 to 65535`;
  if (path !== undefined && path !== '/') {
    const name = path.slice(1);
    if (kind === 'redis' && !(/^\d{1,2}$/.test(name) && Number(name) <= 15)) return `the path ${quoted(path)} is not a database number from 0 to 15`;
    if (kind === 'mysql' && !MYSQL_DATABASE.test(name)) return `the path ${quoted(path)} is not a database name`;
  }
  return undefined;
}

function clusterReason(value: string): string | undefined {
  const m = CLUSTER_SHAPE.exec(value);
  if (!m) return `not a ${value.split(':', 1)[0]}://host:port,host:port URL`;
  const [, userinfo, nodes = '', path, rest] = m;
  if (rest !== undefined) return rest.startsWith('?') ? 'a query string is not allowed' : 'a fragment (#) is not allowed';
  if (userinfo !== undefined && !USERINFO.test(userinfo)) return 'the user or password has characters to percent-encode';
  if (path !== undefined && path !== '/') return `the path ${quoted(path)} is not allowed: a Redis Cluster has only database 0`;
  for (const node of nodes.split(',')) {
    if (node === '') return nodes === '' ? 'the host is missing' : 'a seed node is empty (two commas, or one at an end)';
    const [, host = '', port] = NODE.exec(node) ?? [];
    const hostProblem = checkHost(host);
    if (hostProblem) return hostProblem;
    if (port !== undefined && !isPort(port)) return `the port ${quoted(port)} is not a number from 1 to 65535`;
  }
  return undefined;
}

/** A Redis Cluster's URL taken apart: what the cluster client is given. */
export interface ClusterUrl {
  /** The seed nodes, in the order written; port 6379 where none is written. IPv6 hosts without brackets. */
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** Percent-decoded; `undefined` when the URL names none. */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** `rediss+cluster://`: every node, seeds and those learnt from them, over TLS. */
  readonly tls: boolean;
}

/** Whether `url` names a Redis Cluster (`redis+cluster://`, `rediss+cluster://`), valid or not. */
export function isClusterUrl(url: string): boolean {
  return url.startsWith(`${CLUSTER_SCHEME}://`) || url.startsWith(`${TLS_CLUSTER_SCHEME}://`);
}

/**
 * The seed nodes, credentials and transport of a `redis+cluster://` or `rediss+cluster://` URL.
 * @throws UserError (exit 2), as {@link checkRedisUrl}, for a URL that is not a valid one.
 */
export function parseClusterUrl(url: string): ClusterUrl {
  const problem = isClusterUrl(url) ? urlProblem('redis', url) : `not a ${CLUSTER_SCHEME}:// URL; use ${URL_FORMS.redis}`;
  if (problem !== undefined) throw usageError(`Redis URL ${shownUrl(url)} is not valid: ${problem}`);
  const [, userinfo, nodes = ''] = CLUSTER_SHAPE.exec(url)!;
  const colon = userinfo?.indexOf(':') ?? -1;
  const user = userinfo === undefined ? undefined : colon < 0 ? userinfo : userinfo.slice(0, colon);
  const password = userinfo === undefined || colon < 0 ? undefined : userinfo.slice(colon + 1);
  return {
    nodes: nodes.split(',').map((node) => {
      const [, host = '', port] = NODE.exec(node)!;
      return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: port === undefined ? 6379 : Number(port) };
    }),
    username: user ? decodeURIComponent(user) : undefined,
    password: password === undefined ? undefined : decodeURIComponent(password),
    tls: url.startsWith(`${TLS_CLUSTER_SCHEME}://`),
  };
}

function isPort(port: string): boolean {
  return /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65_535;
}

function checkHost(host: string): string | undefined {
  if (host === '') return 'the host is missing';
  if (host.startsWith('[')) {
    if (!IPV6.test(host) || !host.includes(':') || !parsesAsHost(host)) return `the host ${quoted(host)} is not an IPv6 address`;
    return undefined;
  }
  if (host.length > 253 || !host.split('.').every((label) => LABEL.test(label))) return `the host ${quoted(host)} is not a host name or IPv4 address`;
  if (/^[\d.]+$/.test(host) && !/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(host)) {
    return `the host ${quoted(host)} is not an IPv4 address`;
  }
  return undefined;
}

function parsesAsHost(host: string): boolean {
  try {
    return new URL(`http://${host}/`).hostname !== '';
  } catch {
    return false;
  }
}

function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 32)}…` : text);
}

/**
 * A URL for a message: its password replaced by `***` (it may be a real
 * one), cut after 100 characters, control characters shown as `?`.
 */
export function shownUrl(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? 'undefined' : quoted(String(value));
  const hidden = value.replace(/^([^:/?#]*:\/\/[^:@/?#]*:)[^/?#]*@/, '$1***@');
  const text = JSON.stringify(hidden.length > 100 ? `${hidden.slice(0, 92)}…` : hidden);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
