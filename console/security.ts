/**
 * What keeps the console safe by default (README "The console"):
 *
 * - it listens on 127.0.0.1 unless told otherwise, and while it listens on
 *   loopback it answers only requests whose `Host` names loopback (a page
 *   of another site that points its own DNS name at 127.0.0.1 — DNS
 *   rebinding — is refused);
 * - every action (a POST) needs the token (`GFLOW_CONSOLE_TOKEN`) when one
 *   is configured, and is refused altogether when the console listens
 *   beyond loopback without one (read-only mode);
 * - every action is protected against cross-site requests: a JSON body
 *   only (a form cannot send one), the custom header `X-Gflow-Console` (a
 *   cross-site script cannot send it without a CORS preflight, which the
 *   console never grants), and `Origin` / `Sec-Fetch-Site` must say the
 *   request comes from the console's own pages.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { ApiError } from './errors';

/** The header the console's pages send with every action. */
export const ACTION_HEADER = 'x-gflow-console';

/** Whether `host` (an address or name the console binds to) is loopback only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/** What the console lets a request do, decided once when it starts listening. */
export interface ActionPolicy {
  /** Whether actions can be done at all (with the token when one is set). */
  readonly allowed: boolean;
  readonly needsToken: boolean;
  /** Why actions are refused, or what they need: shown on every page. */
  readonly note: string;
}

export function actionPolicy(host: string, token: string | undefined): ActionPolicy {
  if (token) return { allowed: true, needsToken: true, note: 'actions need the console token (GFLOW_CONSOLE_TOKEN)' };
  if (isLoopback(host)) return { allowed: true, needsToken: false, note: 'listening on loopback: actions need no token' };
  return {
    allowed: false,
    needsToken: false,
    note: `read-only: the console listens on ${host}, beyond loopback, and no console token is set (GFLOW_CONSOLE_TOKEN or the consoleToken setting); set one to allow actions`,
  };
}

/**
 * The host names (the `Host` header without its port) a console bound to
 * loopback answers to; `undefined`: any (bound beyond loopback). Any port:
 * an SSH tunnel (`ssh -L 9000:127.0.0.1:8234`) is still loopback, and a
 * rebinding page names its own DNS name, which is refused whatever the port.
 */
export function allowedHosts(host: string): ReadonlySet<string> | undefined {
  if (!isLoopback(host)) return undefined;
  const bare = host.replace(/^\[|\]$/g, '');
  const named = isIP(bare) === 6 ? `[${bare}]` : bare;
  return new Set(['127.0.0.1', 'localhost', '[::1]', named].map((h) => h.toLowerCase()));
}

/** `Host` without its port (`[::1]:8234` → `[::1]`). */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

export interface RequestFacts {
  readonly method: string;
  readonly host: string | undefined;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly actionHeader: string | undefined;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
}

/** Refuse a request to a loopback console that names another host (DNS rebinding). @throws ApiError 403 */
export function checkHost(facts: Pick<RequestFacts, 'host'>, allowed: ReadonlySet<string> | undefined): void {
  if (allowed === undefined) return;
  if (!allowed.has(hostName(facts.host ?? ''))) {
    throw new ApiError(403, `unexpected Host ${JSON.stringify(facts.host ?? '')}: this console listens on loopback and answers only to ${[...allowed].join(', ')} (a guard against DNS rebinding); open it by one of those, or start it with --host`, 'Host');
  }
}

/**
 * Whether a state-changing request may go on: same-site, JSON, the custom
 * header, and the token the policy asks for.
 * @throws ApiError 403 (cross-site, read-only), 401 (token), 415 (not JSON)
 */
export function checkAction(facts: RequestFacts, policy: ActionPolicy, token: string | undefined): void {
  if (facts.secFetchSite !== undefined && facts.secFetchSite !== 'same-origin' && facts.secFetchSite !== 'none') {
    throw new ApiError(403, `refused: a ${facts.secFetchSite} request (actions come only from the console's own pages)`, 'Sec-Fetch-Site');
  }
  if (facts.origin !== undefined && facts.origin !== 'null') {
    let originHost: string | undefined;
    try {
      originHost = new URL(facts.origin).host.toLowerCase();
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost !== (facts.host ?? '').toLowerCase()) {
      throw new ApiError(403, `refused: the request comes from ${JSON.stringify(facts.origin)}, not from the console (${facts.host ?? '?'})`, 'Origin');
    }
  } else if (facts.origin === 'null') {
    throw new ApiError(403, 'refused: the request comes from an opaque origin, not from the console', 'Origin');
  }
  if (facts.actionHeader !== '1') {
    throw new ApiError(403, `refused: actions need the header X-Gflow-Console: 1 (the console's pages send it; a form or a script of another site cannot)`, 'X-Gflow-Console');
  }
  if (!/^application\/json\s*(;|$)/i.test(facts.contentType ?? '')) {
    throw new ApiError(415, 'actions take a JSON body (Content-Type: application/json)', 'Content-Type');
  }
  if (!policy.allowed) throw new ApiError(403, policy.note, null);
  if (policy.needsToken) {
    const given = /^Bearer (.+)$/.exec(facts.authorization ?? '')?.[1];
    if (given === undefined) throw new ApiError(401, 'this action needs the console token: enter it in the page (or open the console as …/#token=<token>); send it as Authorization: Bearer <token>', 'token');
    if (!sameSecret(given, token ?? '')) throw new ApiError(401, 'the console token is wrong', 'token');
  }
}

/** Compare secrets in constant time (hashed first, so their lengths do not leak either). */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b)) && b.length > 0;
}

/** Headers on every response: no framing, no sniffing, scripts only from the console itself. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};
