// flow.mjs - the part of tools/authelia-verify/run that talks to the running Authelia: the
// authorization-code flow with PKCE through Authelia's own JSON API (there is no portal UI in a build
// without the React front end) for the clients our renderer wrote, then our dashboard logging in with
// Authelia as its issuer, refreshing and logging out. Output: TAP. Environment (set by run): AV_ISSUER,
// AV_SECRETS (client_id<TAB>secret lines), AV_DOMAIN, AV_WORK, AV_DASH_PORT, AV_BIN, AV_AUTHELIA_LOG,
// KUBECONFIG, NODE_EXTRA_CA_CERTS (Authelia's certificate).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Jar, req, tap } from '../../test/dashboard/lib.mjs';

const env = process.env;
const issuer = env.AV_ISSUER, domain = env.AV_DOMAIN, work = env.AV_WORK;
const secrets = Object.fromEntries(fs.readFileSync(env.AV_SECRETS, 'utf8').trim().split('\n').map((l) => l.split('\t')));

const report = tap();
const { ok } = report;
const b64u = (b) => Buffer.from(b).toString('base64url');
const host = (u) => new URL(u).host;
const jsonPost = (jar, url, body) => req(jar, url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

// Authelia's side of a login, from the authorization request to the redirect to the client: the
// portal's calls (first factor, consent) made through the API. Returns the client redirect URL and the
// answers seen, or throws with what Authelia said.
async function autheliaLogin(jar, authorizeURL, user, password, trace = []) {
  let r = await req(jar, authorizeURL);
  trace.push(`authorize ${r.status} ${r.headers.get('location') || r.text.slice(0, 300)}`);
  if (r.status !== 302 && r.status !== 303) throw new Error(`authorization answered ${r.status}: ${r.text.slice(0, 500)}`);
  let loc = new URL(r.headers.get('location'), authorizeURL);
  if (loc.origin === new URL(issuer).origin && loc.searchParams.get('flow') === 'openid_connect' && !loc.pathname.startsWith('/consent')) {
    const flowID = loc.searchParams.get('flow_id');
    r = await jsonPost(jar, `${issuer}/api/firstfactor`, { username: user, password, keepMeLoggedIn: false, flow: 'openid_connect', flowID });
    trace.push(`firstfactor ${r.status} ${r.text.slice(0, 300)}`);
    if (r.status !== 200 || r.json?.status !== 'OK' || !r.json?.data?.redirect) throw new Error(`first factor: ${r.status} ${r.text}`);
    r = await req(jar, r.json.data.redirect);
    trace.push(`authorize+consent_id ${r.status} ${r.headers.get('location')}`);
    loc = new URL(r.headers.get('location'), issuer);
  }
  if (loc.origin === new URL(issuer).origin && loc.pathname.startsWith('/consent/openid')) {
    const flowID = loc.searchParams.get('flow_id');
    r = await req(jar, `${issuer}/api/oidc/consent?flow_id=${encodeURIComponent(flowID)}`);
    trace.push(`consent GET ${r.status} ${r.text.slice(0, 300)}`);
    const clientID = r.json?.data?.client_id;
    r = await jsonPost(jar, `${issuer}/api/oidc/consent`, { flow_id: flowID, client_id: clientID, consent: true, pre_configure: false, claims: [] });
    trace.push(`consent POST ${r.status} ${r.text.slice(0, 300)}`);
    if (r.json?.status !== 'OK') throw new Error(`consent: ${r.status} ${r.text}`);
    r = await req(jar, r.json.data.redirect_uri);
    trace.push(`authorize+consent ${r.status} ${r.headers.get('location')}`);
    loc = new URL(r.headers.get('location'), issuer);
  }
  return loc;
}

async function verifyJWT(jwt, jwks) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) return { valid: false, header };
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const valid = header.alg === 'RS256' && crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  return { valid, header, claims: JSON.parse(Buffer.from(p, 'base64url')) };
}

// ---- 1. discovery ----
const disc = (await req(null, `${issuer}/.well-known/openid-configuration`)).json;
ok(disc?.issuer === issuer, 'discovery names the issuer', disc?.issuer);
ok(disc.code_challenge_methods_supported?.includes('S256'), 'PKCE S256 offered', disc.code_challenge_methods_supported);
ok(['client_secret_basic', 'client_secret_post'].every((m) => disc.token_endpoint_auth_methods_supported?.includes(m)), 'client_secret_basic and _post offered', disc.token_endpoint_auth_methods_supported);
console.log(`# end_session_endpoint: ${disc.end_session_endpoint ?? '(none)'}; revocation_endpoint: ${disc.revocation_endpoint}`);
const jwks = (await req(null, disc.jwks_uri)).json;
ok(jwks?.keys?.length >= 1, 'JWKS served', jwks);

// ---- 2. the code flow with PKCE for each rendered app client ----
const clients = [
  { id: 'my-app', redirect: `https://app.my-app.${domain}/api/auth/oidc/callback`, method: 'client_secret_basic' },
  { id: 'other-app.web', redirect: `https://other-app.${domain}/cb`, method: 'client_secret_post' },
];
for (const c of clients) {
  const jar = new Jar();
  const verifier = b64u(crypto.randomBytes(48));
  const state = b64u(crypto.randomBytes(16)), nonce = b64u(crypto.randomBytes(16));
  const q = new URLSearchParams({ response_type: 'code', client_id: c.id, redirect_uri: c.redirect, scope: 'openid profile email groups',
    state, nonce, code_challenge: b64u(crypto.createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' });
  const trace = [];
  let loc;
  try { loc = await autheliaLogin(jar, `${disc.authorization_endpoint}?${q}`, 'alice', 'alice-pw', trace); } catch (e) { ok(false, `${c.id}: login through Authelia's API`, `${e.message}\n${trace.join('\n')}`); continue; }
  const code = loc.searchParams.get('code');
  ok(`${loc.origin}${loc.pathname}` === c.redirect && code && loc.searchParams.get('state') === state && loc.searchParams.get('iss') === issuer,
    `${c.id}: first factor + consent through the API end at the rendered redirect URI with code, state and iss`, `${loc}\n${trace.join('\n')}`);
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: c.redirect, code_verifier: verifier });
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const tokenReq = (secret, f = form) => {
    const h = { ...headers }, b = new URLSearchParams(f);
    if (c.method === 'client_secret_basic') h.Authorization = `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
    else { b.set('client_id', c.id); b.set('client_secret', secret); }
    return req(null, disc.token_endpoint, { method: 'POST', headers: h, body: b.toString() });
  };
  let r = await tokenReq(`${secrets[c.id]}x`);
  ok(r.status === 401 && r.json?.error === 'invalid_client', `${c.id}: a wrong secret is refused (invalid_client)`, r.text);
  r = await tokenReq(secrets[c.id], { ...Object.fromEntries(form), code_verifier: b64u(crypto.randomBytes(48)) });
  ok(r.status === 400 && r.json?.error === 'invalid_grant', `${c.id}: a wrong PKCE verifier is refused (invalid_grant)`, r.text);
  // a failed PKCE check may invalidate the code (it does in fosite): log in again for the real exchange
  const jar2 = new Jar();
  const verifier2 = b64u(crypto.randomBytes(48));
  q.set('code_challenge', b64u(crypto.createHash('sha256').update(verifier2).digest()));
  loc = await autheliaLogin(jar2, `${disc.authorization_endpoint}?${q}`, 'alice', 'alice-pw');
  form.set('code', loc.searchParams.get('code'));
  form.set('code_verifier', verifier2);
  r = await tokenReq(secrets[c.id]);
  ok(r.status === 200 && r.json?.id_token && r.json?.access_token, `${c.id}: the token endpoint accepts our secret (${c.method}) and the PKCE verifier`, r.text);
  if (!r.json?.id_token) continue;
  ok(!r.json.refresh_token, `${c.id}: no refresh token (the rendered client has no offline_access / refresh_token grant)`);
  const v = await verifyJWT(r.json.id_token, jwks);
  ok(v.valid, `${c.id}: the ID token's RS256 signature verifies against Authelia's JWKS`, v.header);
  const cl = v.claims || {};
  ok(cl.iss === issuer && (cl.aud === c.id || cl.aud?.includes?.(c.id)) && cl.nonce === nonce && cl.exp > Date.now() / 1000,
    `${c.id}: ID token iss, aud, nonce, exp`, cl);
  ok(Array.isArray(cl.groups) && cl.groups.includes('app-a-admins') && cl.preferred_username === 'alice' && cl.email === 'alice@example.com',
    `${c.id}: groups, preferred_username and email in the ID token (our claims policy)`, cl);
  const ui = await req(null, disc.userinfo_endpoint, { headers: { Authorization: `Bearer ${r.json.access_token}` } });
  ok(ui.status === 200 && ui.json?.groups?.includes('platform-admins'), `${c.id}: userinfo answers with the groups`, ui.text);
}
{
  // the dashboard's default scopes (with offline_access) against a rendered client
  const q = new URLSearchParams({ response_type: 'code', client_id: 'platform-dashboard', redirect_uri: `https://dash.platform.${domain}/auth/callback`,
    scope: 'openid profile email groups offline_access', state: b64u(crypto.randomBytes(16)), code_challenge: b64u(crypto.randomBytes(32)), code_challenge_method: 'S256' });
  const r = await req(new Jar(), `${disc.authorization_endpoint}?${q}`);
  const l = new URL(r.headers.get('location') || 'x:', issuer);
  ok(l.searchParams.get('error') === 'invalid_scope', 'offline_access asked of a rendered client without offlineAccess: invalid_scope, before any login', `${r.status} ${l}`);
}
{
  // a client that only another configuration file lists: lost, since the clients list of the last file wins
  const q = new URLSearchParams({ response_type: 'code', client_id: 'only-in-another-file', redirect_uri: `https://x.${domain}/cb`, scope: 'openid', state: b64u(crypto.randomBytes(16)) });
  const r = await req(new Jar(), `${disc.authorization_endpoint}?${q}`);
  const body = `${r.status} ${r.headers.get('location') || ''} ${r.text.slice(0, 300)}`;
  ok(r.status !== 302 || !/flow_id=/.test(r.headers.get('location') || ''), 'a client listed only in another config file is not known (lists are replaced, not merged, across files)', body);
  console.log(`# answer for it: ${body}`);
}

// ---- 3. the dashboard with Authelia as its issuer ----
const port = Number(env.AV_DASH_PORT);
const dashBase = `http://127.0.0.1:${port}`;
let publicURL = `https://dash.platform.${domain}`; // per client: the host of its redirect URI
const children = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });

async function startDashboard(clientID, scopes) {
  const secretFile = path.join(work, `${clientID}.secret`);
  fs.writeFileSync(secretFile, `${secrets[clientID]}\n`, { mode: 0o600 });
  const keyDir = path.join(work, `keys-${clientID}`);
  fs.mkdirSync(keyDir, { recursive: true });
  fs.writeFileSync(path.join(keyDir, 'k1'), crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  const args = ['dashboard', '--kubeconfig', env.KUBECONFIG, '--listen', `127.0.0.1:${port}`, '--health-addr', '0',
    '--public-url', publicURL, '--insecure-cookies', '--oidc-issuer-url', issuer, '--oidc-ca-file', env.NODE_EXTRA_CA_CERTS,
    '--oidc-client-id', clientID, '--oidc-client-secret-file', secretFile, '--session-key-dir', keyDir, '--log-level', 'debug'];
  if (scopes) args.push('--oidc-scopes', scopes);
  const c = spawn(env.AV_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  const log = [];
  c.stderr.on('data', (d) => log.push(String(d)));
  await new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`the dashboard did not start: ${buf}${log.join('')}`)), 60000);
    c.stdout.on('data', (d) => { buf += d; if (/listening \d+/.test(buf)) { clearTimeout(t); resolve(); } });
    c.on('exit', (code) => { clearTimeout(t); reject(new Error(`the dashboard exited ${code}: ${log.join('')}`)); });
  });
  return { c, log };
}
const stop = async (c) => { c.kill('SIGTERM'); for (let i = 0; i < 50 && c.exitCode === null; i++) await sleep(100); };

async function dashboardLogin(user, password) {
  const jar = new Jar();
  const r = await req(jar, `${dashBase}/auth/login`);
  if (r.status !== 302) throw new Error(`/auth/login answered ${r.status}: ${r.text}`);
  const loc = await autheliaLogin(jar, r.headers.get('location'), user, password);
  // the browser would go to the public URL; here that is the dashboard's listen address
  if (loc.origin !== publicURL) throw new Error(`Authelia sent the browser to ${loc}`);
  const cb = await req(jar, `${dashBase}${loc.pathname}${loc.search}`);
  return { jar, cb, loc };
}
const session = (jar) => req(jar, `${dashBase}/api/v1/session`);
// Authelia logs each token request (a refresh keeps the request id of the original code exchange)
const tokenRequests = (id) => fs.readFileSync(env.AV_AUTHELIA_LOG, 'utf8').split('\n').filter((l) => l.includes(`on client with id '${id}' has successfully been processed`) && l.includes('path=/api/oidc/token')).length;

for (const [clientID, scopes, host, what] of [['platform-dashboard', 'openid profile email groups', `dash.platform.${domain}`, 'an app\'s client our renderer wrote'],
  ['platform.dashboard', null, `dashboard.${domain}`, 'the platform client our renderer wrote with offlineAccess (the dashboard\'s default scopes)']]) {
  publicURL = `https://${host}`;
  let d;
  try { d = await startDashboard(clientID, scopes); } catch (e) { ok(false, `the dashboard starts (${what})`, e.message); continue; }
  try {
    const { jar, cb, loc } = await dashboardLogin('alice', 'alice-pw');
    ok(cb.status === 302 && jar.get(`127.0.0.1:${port}`, 'ap-session'), `dashboard (${what}): login through Authelia ends with a session cookie`, `${loc}\n${cb.status} ${cb.text}\n${d.log.join('').slice(-1500)}`);
    let r = await session(jar);
    ok(r.status === 200 && r.json?.user?.name === 'alice' && r.json.user.groups?.includes('app-a-admins') && r.json.user.groups.includes('platform-admins'),
      `dashboard (${what}): /api/v1/session names alice with her Authelia groups`, r.text);
    const csrf = r.json?.csrfToken;
    if (!scopes) {
      // Authelia's access tokens live AV_ACCESS_TOKEN_LIFESPAN (45 s); the dashboard refreshes 30 s early
      for (const round of [1, 2]) {
        const before = tokenRequests(clientID);
        await sleep(16000);
        const rs = await Promise.all([1, 2, 3, 4, 5].map(() => session(jar)));
        ok(rs.every((x) => x.status === 200) && rs.every((x) => /ap-session=v1\./.test(x.headers.get('set-cookie') || '')),
          `dashboard (${what}): refresh ${round}: five concurrent requests due for refresh all succeed with a refreshed cookie`, rs.map((x) => `${x.status} ${x.text.slice(0, 200)}`));
        await sleep(500);
        const after = tokenRequests(clientID);
        ok(after - before === 1, `dashboard (${what}): refresh ${round}: exactly one token request reached Authelia`, { before, after });
        r = await session(jar);
        ok(r.status === 200 && r.json?.user?.name === 'alice' && !/ap-session=/.test(r.headers.get('set-cookie') || ''),
          `dashboard (${what}): refresh ${round}: the refreshed session works without another refresh`, r.text);
      }
    } else {
      ok(true, `dashboard (${what}): no refresh token asked for or given (this client has no offlineAccess)`);
    }
    r = await req(jar, `${dashBase}/auth/logout`, { method: 'POST', headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: '{}' });
    ok(r.status === 200 && r.json?.providerLogout === !!disc.end_session_endpoint && /ap-session=;/.test(r.headers.get('set-cookie') || ''),
      `dashboard (${what}): logout clears the cookie; provider logout ${disc.end_session_endpoint ? 'offered' : 'not offered (Authelia has no end_session_endpoint)'}`, r.text);
    r = await session(jar);
    ok(r.status === 401, `dashboard (${what}): after logout the session is gone`, r.text);
    const bad = await dashboardLogin('alice', 'wrong').catch((e) => ({ err: e.message }));
    ok(bad.err && /first factor: 401/.test(bad.err), `dashboard (${what}): a wrong password gets no code from Authelia`, bad);
  } catch (e) {
    ok(false, `dashboard (${what}): the login flow`, `${e.stack}\n${d.log.join('').slice(-1500)}`);
  }
  await stop(d.c);
  ok(d.c.exitCode === 0, `dashboard (${what}): exits 0 on SIGTERM`, d.c.exitCode);
}

console.log(`1..${report.n}`);
console.log(`# ${report.n - report.failed} passed, ${report.failed} failed`);
process.exit(report.failed ? 1 : 0);
