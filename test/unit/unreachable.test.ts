/** UnreachableError's one line: the URL without its password, the reason, and a hint only where it helps. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnreachableError } from '../../infra/redis';

const URL = 'rediss://:s3cret@cache.internal:6380';
const tlsError = (code: string, message: string) => Object.assign(new Error(message), { code });

test('a chain no trusted CA signed: the line says how to trust a private CA', () => {
  for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']) {
    const err = new UnreachableError('Redis', URL, 'self-signed certificate in certificate chain', tlsError(code, 'x'));
    assert.match(err.message, /^Redis at rediss:\/\/:\*\*\*@cache\.internal:6380 is unreachable: self-signed certificate in certificate chain \(a private CA\? give Node its certificate: NODE_EXTRA_CA_CERTS=/, code);
  }
  // Only the words reached us (a cluster's seed probe): they are enough.
  assert.match(new UnreachableError('Redis', URL, 'unable to verify the first certificate').message, /NODE_EXTRA_CA_CERTS/);
});

test('an expired certificate or one made out to another host gets no CA hint: trusting a CA mends neither', () => {
  for (const [code, reason] of [
    ['CERT_HAS_EXPIRED', 'certificate has expired'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: Host: cache.internal. is not in the cert's altnames: DNS:other.example"],
  ] as const) {
    const err = new UnreachableError('Redis', URL, reason, tlsError(code, reason));
    assert.equal(err.message, `Redis at rediss://:***@cache.internal:6380 is unreachable: ${reason}`);
    assert.doesNotMatch(err.message, /s3cret/);
  }
  assert.equal(new UnreachableError('Redis', 'redis://127.0.0.1:1', 'connect ECONNREFUSED 127.0.0.1:1').message, 'Redis at redis://127.0.0.1:1 is unreachable: connect ECONNREFUSED 127.0.0.1:1');
});
