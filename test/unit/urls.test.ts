/**
 * The server URL validators (core/urls.ts): what `gflow games add|update`
 * and the GFLOW_REDIS_URL / GFLOW_MYSQL_URL settings accept, and the
 * one-line refusals (exit 2) for everything else.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../core/errors';
import { checkMysqlUrl, checkRedisUrl, isClusterUrl, isServerUrl, MAX_URL_LENGTH, parseClusterUrl, shownUrl, urlProblem } from '../../core/urls';

/** The end of every refused Redis URL's message: the forms accepted. */
const ACCEPTED_REDIS =
  /^Redis URL .* is not valid: .*; use redis:\/\/host:port or rediss:\/\/host:port, optionally with user:password@ before the host and \/0 to \/15 after the port, or redis\+cluster:\/\/host:port,host:port… \(seed nodes of a Redis Cluster; rediss\+cluster:\/\/ with TLS\), optionally with user:password@ before the first host, nothing else$/;

/** A usage error (exit 2) in one line matching `pattern`. */
function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

describe('Redis URLs', () => {
  test('accepted: redis:// and rediss://, user and password, port, /0 to /15', () => {
    for (const url of [
      'redis://127.0.0.1:6379',
      'redis://127.0.0.1',
      'redis://redis:6379',
      'redis://my_redis.internal:6380/',
      'redis://:secret@10.0.0.5:6379',
      'redis://app:p%40ss;w0rd!@cache.example.com:6379/0',
      'redis://default@h:6379/15',
      'rediss://h.example:6380/3',
      'redis://[::1]:6379',
      'redis://[2001:db8::1]/2',
    ]) {
      assert.equal(checkRedisUrl(url), url, url);
      assert.equal(isServerUrl('redis', url), true, url);
    }
  });

  test('refused, saying what is wrong and what is accepted', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['http://x', /not a redis:\/\/, rediss:\/\/, redis\+cluster:\/\/ or rediss\+cluster:\/\/ URL/],
      ['mysql://h:3306', /not a redis:\/\//],
      ['REDIS://h:6379', /not a redis:\/\//],
      ['localhost:6379', /not a redis:\/\//],
      ['', /not a redis:\/\//],
      ['redis://', /the host is missing/],
      ['redis://:6379', /the host is missing/],
      ['redis://h:0', /port "0" is not a number from 1 to 65535/],
      ['redis://h:65536', /port/],
      ['redis://h:63a9', /port/],
      ['redis://h:', /port/],
      ['redis://h:6379/16', /path "\/16" is not a database number from 0 to 15/],
      ['redis://h:6379/;DROP', /path/],
      ['redis://h:6379/0/1', /path/],
      ['redis://h:6379/0?family=6', /a query string is not allowed/],
      ['redis://h:6379?db=3', /query string/],
      ['redis://h:6379#x', /fragment/],
      ['redis://h x:6379', /spaces and control characters/],
      ['redis://h:6379/0\n', /control characters/],
      ['redis://bad_host!:6379', /not a host name/],
      ['redis://999.1.1.1:6379', /not an IPv4 address/],
      ['redis://[zz::1]:6379', /not an IPv6 address/],
      ['redis://u:p@ss@h:6379', /percent-encode/],
      ['redis://u:p%zz@h:6379', /percent-encode/],
      [`redis://${'a'.repeat(MAX_URL_LENGTH)}`, /longer than 1024/],
      [6379, /not text/],
      [undefined, /not text/],
    ];
    for (const [url, pattern] of cases) {
      refused(() => checkRedisUrl(url), pattern);
      refused(() => checkRedisUrl(url), ACCEPTED_REDIS);
      assert.equal(isServerUrl('redis', url), false, String(url));
    }
  });
});

describe('Redis Cluster URLs', () => {
  test('accepted: redis+cluster:// with one or more seed nodes, optional ports, user and password', () => {
    for (const url of [
      'redis+cluster://127.0.0.1:7000',
      'redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002',
      'redis+cluster://:s%40cret@10.0.0.5:7000,10.0.0.6:7000',
      'redis+cluster://app:pw@cache-1.internal,cache-2.internal:6380/',
      'redis+cluster://[::1]:7000,[2001:db8::1]',
      'rediss+cluster://:pw@cache-1.internal:6380,cache-2.internal:6380',
    ]) {
      assert.equal(checkRedisUrl(url), url, url);
      assert.equal(isClusterUrl(url), true, url);
    }
    assert.equal(isClusterUrl('redis://127.0.0.1:6379'), false);
  });

  test('taken apart for the cluster client: seeds in order, port 6379 by default, credentials decoded', () => {
    assert.deepEqual(parseClusterUrl('redis+cluster://app:p%40ss@127.0.0.1:7000,cache,[::1]:7002'), {
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: 'cache', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 'p@ss',
      tls: false,
    });
    assert.deepEqual(parseClusterUrl('redis+cluster://:pw@h:1'), { nodes: [{ host: 'h', port: 1 }], username: undefined, password: 'pw', tls: false });
    assert.deepEqual(parseClusterUrl('redis+cluster://h:1'), { nodes: [{ host: 'h', port: 1 }], username: undefined, password: undefined, tls: false });
    assert.deepEqual(parseClusterUrl('rediss+cluster://:pw@h:1,g'), { nodes: [{ host: 'h', port: 1 }, { host: 'g', port: 6379 }], username: undefined, password: 'pw', tls: true });
    refused(() => parseClusterUrl('redis://h:1'), /not a redis\+cluster:\/\/ URL/);
  });

  test('refused, in one line saying what is wrong and what is accepted, the password hidden', () => {
    const cases: Array<[string, RegExp]> = [
      ['redis+cluster://', /the host is missing/],
      ['redis+cluster://h:7000,,h:7001', /a seed node is empty/],
      ['redis+cluster://h:7000,', /a seed node is empty/],
      ['redis+cluster://h:7000,h:70000', /port "70000" is not a number from 1 to 65535/],
      ['redis+cluster://h:7000,bad_host!:7001', /not a host name/],
      ['redis+cluster://h:7000/0', /path "\/0" is not allowed: a Redis Cluster has only database 0/],
      ['redis+cluster://h:7000?readOnly=true', /a query string is not allowed/],
      ['redis+cluster://h:7000#x', /fragment/],
      ['rediss+cluster://h:7000/1', /path "\/1" is not allowed: a Redis Cluster has only database 0/],
      ['rediss+cluster://u:p@ss@h:7000', /not a rediss\+cluster:\/\/host:port,host:port URL/],
      ['redis+cluster://u:p@ss@h:7000', /not a redis\+cluster:\/\/host:port,host:port URL/],
      ['redis+cluster://u:p%zz@h:7000', /percent-encode/],
      ['redis+cluster://h :7000', /spaces/],
      ['REDIS+CLUSTER://h:7000', /not a redis:\/\/, rediss:\/\/, redis\+cluster:\/\/ or rediss\+cluster:\/\/ URL/],
    ];
    for (const [url, pattern] of cases) {
      refused(() => checkRedisUrl(url), pattern);
      refused(() => checkRedisUrl(url), ACCEPTED_REDIS);
      assert.equal(isServerUrl('redis', url), false, url);
    }
    refused(() => checkRedisUrl('redis+cluster://:hunter2@h:7000,,h:7001'), /^Redis URL "redis\+cluster:\/\/:\*\*\*@h:7000,,h:7001" is not valid/);
    assert.equal(isServerUrl('mysql', 'redis+cluster://h:7000'), false);
  });
});

describe('MySQL URLs', () => {
  test('accepted: mysql://, user and password, port, an empty path or one plain database name', () => {
    for (const url of [
      'mysql://root@127.0.0.1:3306',
      'mysql://root@127.0.0.1:3306/',
      'mysql://report:s3cr%23t@10.0.0.6:3306/analytics',
      'mysql://db.example',
      'mysql://u@h/My_DB$2',
      `mysql://u@h/${'d'.repeat(64)}`,
      'mysql://u@[::1]:3306/x',
    ]) {
      assert.equal(checkMysqlUrl(url), url, url);
    }
  });

  test('refused: a path that is not one database name, a query string, anything but mysql://', () => {
    const cases: Array<[string, RegExp]> = [
      ['mysql://root@127.0.0.1:3306/;DROP', /the path "\/;DROP" is not a database name/],
      ['mysql://h/db;DROP TABLE x', /spaces/],
      ['mysql://h/db-1', /not a database name/],
      ['mysql://h/db/x', /not a database name/],
      ['mysql://h/../x', /not a database name/],
      ['mysql://h/%64b', /not a database name/],
      [`mysql://u@h/${'d'.repeat(65)}`, /not a database name/],
      ['mysql://h:3306/db?multipleStatements=true', /a query string is not allowed/],
      ['mysql://h:3306/db?', /query string/],
      ['mysqlx://h:33060', /not a mysql:\/\/ URL/],
      ['mariadb://h:3306', /not a mysql:\/\/ URL/],
      ['nope', /not a mysql:\/\/ URL/],
      ['mysql://h:3306x', /port/],
      ['mysql://u:p/w@h', /the port "p" is not a number/],
    ];
    for (const [url, pattern] of cases) {
      refused(() => checkMysqlUrl(url), pattern);
      refused(() => checkMysqlUrl(url, '--mysql'), /^--mysql .* is not valid: .*; use mysql:\/\/host:port, optionally with user:password@ before the host and \/database after the port \(letters, digits, _ or \$, at most 64\), nothing else$/);
    }
  });
});

describe('messages', () => {
  test('a password is never shown; long values are cut', () => {
    refused(() => checkMysqlUrl('mysql://app:hunter2@h:3306/;DROP'), /"mysql:\/\/app:\*\*\*@h:3306\/;DROP"/);
    assert.doesNotThrow(() => urlProblem('mysql', 'mysql://app:hunter2@h:3306/x'));
    assert.ok(!/hunter2/.test(urlProblem('mysql', 'mysql://app:hunter2@h:3306/;DROP')!));
    assert.equal(shownUrl('redis://u:p@ss@h:6379/99'), '"redis://u:***@h:6379/99"');
    assert.equal(shownUrl('redis://h:6379'), '"redis://h:6379"');
    assert.match(shownUrl(`redis://${'h'.repeat(300)}`), /…"$/);
    assert.ok(shownUrl(`redis://${'h'.repeat(300)}`).length < 110);
  });

  test('one validator per kind: the same answers for the registry and the settings', () => {
    assert.equal(urlProblem('redis', 'redis://127.0.0.1:6379'), undefined);
    assert.match(urlProblem('redis', 'localhost:6379')!, /redis:\/\/host:port/);
    assert.match(urlProblem('mysql', 'mysql://h/;DROP')!, /not a database name/);
  });
});
