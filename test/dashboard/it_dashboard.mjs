// it_dashboard.mjs - the dashboard against the real control plane ($KUBECONFIG, tools/testenv) and a real
// OIDC provider (test/dashboard/idp: panva's oidc-provider configured like Authelia). Every login goes
// through the provider's own endpoints (authorization, login form, consent, token). Two apps, users in
// their admin/developer/reader groups, a platform admin and a user whose directory entry carries
// system:masters; every endpoint is exercised as each role, and the security checks of the dashboard
// issue run: no secret value in any answer or event, CSRF, tampered/expired/other-key cookies, 413/414/431,
// prefixed impersonation, HTML in key names, SSE ids/limits, refresh with one refresh per session,
// logout, graceful shutdown.
//
// The test plays the operator's part (RoleBindings in the app namespaces, the committed/commit
// annotations) unless DASH_IT_REAL_OPERATOR=1, in which case a running operator must do it.
// Output: TAP. Needs APP_PLATFORM_BIN, SRCDIR, KUBECONFIG; Flux tests are skipped when the Flux CRDs
// cannot be found (tools/peers/build flux, or the Go module cache).
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Jar, login, openEvents, req, seen as seenBodies, tap } from './lib.mjs';

const SRC = process.env.SRCDIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const BIN = process.env.APP_PLATFORM_BIN || path.join(SRC, 'build/app-platform');
const REAL_OPERATOR = process.env.DASH_IT_REAL_OPERATOR === '1';

// ---- TAP ----
const report = tap();
const { ok, skip } = report;
const bail = (why) => { console.log(`Bail out! ${why}`); cleanup().finally(() => process.exit(1)); };

if (!process.env.KUBECONFIG) {
  console.log('1..0 # SKIP KUBECONFIG is not set: run under tools/ci/test or eval "$(tools/testenv/up DIR)"');
  process.exit(1);
}

// ---- tools ----
function kubectlPath() {
  const out = execFileSync(path.join(SRC, 'tools/peers/build'), ['kube'], { encoding: 'utf8' });
  const k = out.split('\n').find((l) => l.endsWith('/kubectl'));
  if (!k) throw new Error('tools/peers/build kube printed no kubectl');
  return k;
}
const KUBECTL = kubectlPath();
const kubectl = (args, input, kubeconfig) => execFileSync(KUBECTL, args, {
  encoding: 'utf8', input, env: { ...process.env, KUBECONFIG: kubeconfig || process.env.KUBECONFIG }, stdio: ['pipe', 'pipe', 'pipe'],
});
const apply = (obj) => kubectl(['apply', '-f', '-'], JSON.stringify(obj));

const rand = crypto.randomBytes(3).toString('hex');
const A = `ita${rand}`, B = `itb${rand}`, C = `itc${rand}`;
const nsOf = (app, s) => `${app}-${s}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dash-it-'));
const children = [];
const cleanups = [];
async function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const f of cleanups.reverse()) { try { f(); } catch { /* best effort */ } }
  fs.rmSync(tmp, { recursive: true, force: true });
}

// Every secret value the suite writes; no answer or event may contain one.
const secretValues = [];
const newValue = (label) => { const v = `val-${label}-${crypto.randomBytes(12).toString('hex')}`; secretValues.push(v); return v; };

async function freePort() {
  return new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
}

// ---- cluster fixtures (the operator's part, unless a real operator runs) ----
function fluxCrds() {
  const dirs = [];
  const cache = process.env.APP_PLATFORM_CACHE || path.join(os.homedir(), '.cache/app-platform/peers');
  for (const d of fs.existsSync(cache) ? fs.readdirSync(cache) : []) {
    if (/^(source|kustomize)-controller-/.test(d) && fs.existsSync(path.join(cache, d, 'crd'))) dirs.push(path.join(cache, d, 'crd'));
  }
  let gomod = process.env.GOMODCACHE;
  if (!gomod) { try { gomod = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim(); } catch { gomod = path.join(os.homedir(), 'go/pkg/mod'); } }
  const flux = path.join(gomod, 'github.com/fluxcd');
  if (dirs.length < 2 && fs.existsSync(flux)) {
    for (const d of fs.readdirSync(flux).sort().reverse()) {
      const m = /^(source|kustomize)-controller@v/.exec(d);
      const crd = path.join(flux, d, 'config/crd/bases');
      if (m && fs.existsSync(crd) && !dirs.some((x) => x.includes(`${m[1]}-controller`))) dirs.push(crd);
    }
  }
  const files = dirs.flatMap((d) => fs.readdirSync(d).filter((f) => /(gitrepositories|kustomizations)\.yaml$/.test(f)).map((f) => path.join(d, f)));
  return files.length >= 2 ? files : null;
}

function setupCluster() {
  for (const f of ['crd.yaml', 'clusterroles.yaml', 'namespace.yaml', 'dashboard-rbac.yaml']) kubectl(['apply', '-f', path.join(SRC, 'deploy', f)]);
  kubectl(['wait', '--for=condition=Established', 'crd/appplatformregistrations.labrats.work', '--timeout=60s']);
  const flux = fluxCrds();
  if (flux) {
    for (const f of flux) kubectl(['apply', '--server-side', '--force-conflicts', '-f', f]);
    kubectl(['wait', '--for=condition=Established', 'crd/gitrepositories.source.toolkit.fluxcd.io', 'crd/kustomizations.kustomize.toolkit.fluxcd.io', '--timeout=60s']);
  }
  const apps = {
    [A]: { envs: ['dev', 'prod'], access: [['app-a-admins', 'admin'], ['app-a-developers', 'developer'], ['app-a-readers', 'reader']] },
    [B]: { envs: ['dev'], access: [['app-b-admins', 'admin'], ['app-b-developers', 'developer']] },
  };
  for (const [app, def] of Object.entries(apps)) {
    const nss = [nsOf(app, 'platform'), ...def.envs.map((e) => nsOf(app, e))];
    for (const ns of nss) {
      apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'labrats.work/app': app, 'labrats.work/namespace-role': ns.endsWith('-platform') ? 'platform' : 'app' } } });
      cleanups.push(() => kubectl(['delete', 'namespace', ns, '--wait=false']));
    }
    apply({ apiVersion: 'labrats.work/v1alpha1', kind: 'AppPlatformRegistration', metadata: { name: app },
      spec: { namespaces: def.envs.map((e) => nsOf(app, e)), access: def.access.map(([group, role]) => ({ group, role })) } });
    cleanups.push(() => kubectl(['delete', 'apr', app, '--wait=false']));
    if (!REAL_OPERATOR) {
      for (const ns of nss) {
        for (const [group, role] of def.access) {
          apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `app-platform-${role}-${group}`, namespace: ns },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `app-platform-${role}` },
            subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `oidc:${group}` }] });
        }
      }
      apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'app-platform-dashboard-secrets', namespace: nsOf(app, 'platform') },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'app-platform-dashboard-secrets' },
        subjects: [{ kind: 'ServiceAccount', name: 'app-platform-dashboard', namespace: 'app-platform-system' }] });
    }
  }
  const crb = `dash-it-platform-admins-${rand}`;
  apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: crb },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'app-platform-registrations-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'oidc:platform-admins' }] });
  cleanups.push(() => kubectl(['delete', 'clusterrolebinding', crb]));
  cleanups.push(() => kubectl(['delete', 'apr', C, '--ignore-not-found', '--wait=false']));
  return !!flux;
}

// The dashboard runs as its own ServiceAccount with deploy/dashboard-rbac.yaml, not as the test's admin.
function saKubeconfig() {
  kubectl(['apply', '-f', path.join(SRC, 'deploy/dashboard-rbac.yaml')]);
  const token = kubectl(['-n', 'app-platform-system', 'create', 'token', 'app-platform-dashboard', '--duration=2h']).trim();
  const cfg = JSON.parse(kubectl(['config', 'view', '--raw', '--minify', '-o', 'json']));
  const cluster = cfg.clusters[0].cluster;
  const kc = { apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'c', cluster }],
    users: [{ name: 'dash', user: { token } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'dash' } }], 'current-context': 'c' };
  const file = path.join(tmp, 'dashboard.kubeconfig');
  fs.writeFileSync(file, JSON.stringify(kc), { mode: 0o600 });
  return file;
}

// ---- processes ----
function waitLine(child, re, what, ms = 60000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what} did not start: ${buf.slice(-2000)}`)), ms);
    child.stdout.on('data', (d) => { buf += d; const m = re.exec(buf); if (m) { clearTimeout(t); resolve(m); } });
    child.on('exit', (code) => { clearTimeout(t); reject(new Error(`${what} exited ${code}: ${buf.slice(-2000)}`)); });
  });
}

const idpLog = [];
async function startIdp(dashPort) {
  const c = spawn('node', [path.join(SRC, 'test/dashboard/idp/idp.mjs')], {
    env: { ...process.env, IDP_PORT: '0', IDP_REDIRECT_URIS: `http://127.0.0.1:${dashPort}/auth/callback`,
      IDP_POST_LOGOUT_URIS: `http://127.0.0.1:${dashPort}/`, IDP_ACCESS_TTL: '40', IDP_LOG: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(c);
  c.stdout.on('data', (d) => idpLog.push(...String(d).split('\n')));
  c.stderr.on('data', () => {});
  const m = await waitLine(c, /ready (\S+)/, 'the OIDC provider');
  return m[1];
}

const dashStderr = [];
async function startDashboard(port, issuer, kubeconfig, keyDir) {
  const secretFile = path.join(tmp, 'client-secret');
  fs.writeFileSync(secretFile, 'dash+secret/with%odd:chars\n', { mode: 0o600 });
  const c = spawn(BIN, ['dashboard', '--kubeconfig', kubeconfig, '--listen', `127.0.0.1:${port}`, '--health-addr', '0',
    '--public-url', `http://127.0.0.1:${port}`, '--insecure-cookies', '--oidc-issuer-url', issuer,
    '--oidc-client-secret-file', secretFile, '--session-key-dir', keyDir, '--max-streams-per-user', '3',
    '--sse-heartbeat', '2s', '--authz-cache', '1s', '--log-level', 'debug'], {
    env: { ...process.env, APP_PLATFORM_THREADS: '4' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(c);
  c.stderr.on('data', (d) => dashStderr.push(String(d)));
  await waitLine(c, /listening (\d+)/, 'the dashboard');
  return c;
}

class Session {
  constructor(base, jar, name) { this.base = base; this.jar = jar; this.name = name; }
  async init() { const r = await this.get('/api/v1/session'); this.csrf = r.json?.csrfToken; this.info = r.json; return r; }
  get(p, headers) { return req(this.jar, this.base + p, { headers }); }
  send(method, p, body, extra = {}) {
    const headers = { 'X-CSRF-Token': this.csrf, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...extra };
    for (const k of Object.keys(headers)) if (headers[k] === null) delete headers[k];
    return req(this.jar, this.base + p, { method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  }
}

// ---- sealing a cookie the way src/dashboard/session.c does (to forge expired / other-key cookies) ----
function seal(material, kid, name, payload) {
  const key = Buffer.from(crypto.hkdfSync('sha256', Buffer.from(material), Buffer.alloc(0), Buffer.from(`app-platform dashboard cookie ${kid}`), 32));
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(`v1.${kid}.${name}`));
  const ct = Buffer.concat([c.update(JSON.stringify(payload)), c.final()]);
  return `v1.${kid}.${Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64url')}`;
}

// ---- the tests ----
async function main() {
  const haveFlux = setupCluster();
  const kubeconfig = saKubeconfig();
  const keyDir = path.join(tmp, 'keys');
  fs.mkdirSync(keyDir);
  const keyMaterial = crypto.randomBytes(32).toString('hex');
  fs.writeFileSync(path.join(keyDir, 'k1'), keyMaterial, { mode: 0o600 });
  const port = await freePort();
  const issuer = await startIdp(port);
  const dash = await startDashboard(port, issuer, kubeconfig, keyDir);
  const base = `http://127.0.0.1:${port}`;
  const host = `127.0.0.1:${port}`;

  // logins
  const users = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw', dave: 'dave-pw', erin: 'erin-pw', mallory: 'mallory-pw' };
  const s = {};
  for (const [u, pw] of Object.entries(users)) {
    const { jar, callback } = await login(base, u, pw);
    const good = ok(callback.status === 302 && jar.get(host, 'ap-session'), `login as ${u} through the provider's authorization, login, consent and token endpoints`, callback.text);
    if (!good) return bail(`login as ${u} failed`);
    s[u] = new Session(base, jar, u);
    const r = await s[u].init();
    ok(r.status === 200 && r.json.user.name === u && r.json.csrfToken, `GET /api/v1/session as ${u}`, r.text);
  }
  ok(s.alice.info.user.groups.includes('app-a-admins'), 'groups come from userinfo (the ID token has none, as with Authelia)', s.alice.info);
  {
    const { callback } = await login(base, 'alice', 'wrong');
    ok(callback.status === 401 && !String(callback.headers.get('set-cookie') || '').includes('ap-session='), 'a wrong password gets no session');
  }
  // impersonation never carries an unprefixed identity
  {
    const imp = s.mallory.info.impersonation;
    ok(imp.user === 'oidc:mallory' && imp.groups.includes('oidc:system:masters') && imp.groups.every((g) => g.startsWith('oidc:')),
      'system:masters from the IdP is impersonated as oidc:system:masters only', imp);
    const r = await s.mallory.send('POST', `/api/v1/apps/${A}/secrets`, { name: 'pwn', targetNamespaces: [nsOf(A, 'dev')], data: { k: newValue('mallory') } });
    ok(r.status === 403, 'mallory (system:masters in the IdP, reader of A) cannot write: the apiserver refuses', r.text);
  }

  // apps each user may see
  {
    const names = async (u) => ((await s[u].get('/api/v1/apps')).json?.items || []).map((i) => `${i.name}:${i.role}`).filter((x) => x.startsWith('it'));
    ok(JSON.stringify(await names('alice')) === JSON.stringify([`${A}:admin`]), 'alice sees app A as admin', await names('alice'));
    ok(JSON.stringify(await names('bob')) === JSON.stringify([`${A}:developer`]), 'bob sees app A as developer');
    ok(JSON.stringify(await names('carol')) === JSON.stringify([`${A}:reader`]), 'carol sees app A as reader');
    ok(JSON.stringify(await names('dave')) === JSON.stringify([`${B}:admin`]), 'dave sees app B only');
    const erin = await names('erin');
    ok(erin.includes(`${A}:none`) && erin.includes(`${B}:none`), 'the platform admin sees every app', erin);
  }

  // SSE as alice, opened before the secret exists
  const sse = openEvents(base, s.alice.jar);
  await sse.opened();
  ok(sse.status === 200 && sse.headers['content-type'] === 'text/event-stream' && sse.contentTypes === 1,
    'GET /api/v1/events opens an event stream (one Content-Type, text/event-stream: browsers refuse a second)', sse.headers['content-type']);
  const sseB = openEvents(base, s.dave.jar);
  await sseB.opened();

  // secrets: create as admin, Pending -> Committed (-> Applied) over SSE
  const v1 = newValue('db-password'), v2 = newValue('db-user');
  const t0 = Date.now();
  let r = await s.alice.send('POST', `/api/v1/apps/${A}/secrets`, { name: 'db', targetNamespaces: [nsOf(A, 'dev'), nsOf(A, 'prod')], data: { password: v1, username: v2 } });
  ok(r.status === 201 && r.json.status === 'Pending' && r.json.keys.sort().join() === 'password,username', 'an admin creates a secret: 201, Pending, key names only', r.text);
  let ev = await sse.wait((e) => e.event === 'secret' && e.json?.object?.name === 'db' && e.json.object.status === 'Pending', 3000);
  ok(ev && ev.at - t0 < 1000 + 500, 'the Pending secret reaches the admin over SSE within a second', ev);
  ok(ev && /^\d+$/.test(ev.id), 'SSE events carry an id');
  {
    const sec = JSON.parse(kubectl(['-n', nsOf(A, 'platform'), 'get', 'secret', 'db', '-o', 'json', '--show-managed-fields']));
    ok(sec.metadata.labels['labrats.work/managed-secret'] === 'true' && sec.metadata.labels['labrats.work/app'] === A &&
      sec.metadata.annotations['labrats.work/target-namespaces'] === `${nsOf(A, 'dev')},${nsOf(A, 'prod')}` &&
      sec.metadata.annotations['labrats.work/target-name'] === 'db' && sec.metadata.annotations['labrats.work/requested-by'] === 'alice' &&
      Buffer.from(sec.data.password, 'base64').toString() === v1, 'the intent Secret has the contract labels, annotations and the data', sec.metadata);
    const mf = (sec.metadata.managedFields || []).map((m) => m.manager);
    ok(mf.includes('app-platform-dashboard'), 'written with field manager app-platform-dashboard', mf);
  }
  const sha = crypto.randomBytes(20).toString('hex');
  if (!REAL_OPERATOR) kubectl(['-n', nsOf(A, 'platform'), 'annotate', '--overwrite', 'secret', 'db', 'labrats.work/committed=true', `labrats.work/commit=${sha}`]);
  ev = await sse.wait((e) => e.event === 'secret' && e.json?.object?.name === 'db' && e.json.object.status === 'Committed', REAL_OPERATOR ? 120000 : 3000);
  ok(ev && (REAL_OPERATOR || ev.json.object.commit === sha), 'Pending -> Committed arrives over SSE', ev);
  ok(!(await sseB.wait((e) => e.event === 'secret' && e.json?.app === A, 300)), 'a user of app B gets no events of app A');
  if (haveFlux && !REAL_OPERATOR) {
    const kname = `${A}-platform`;
    apply({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: kname, namespace: nsOf(A, 'platform'), labels: { 'app.kubernetes.io/managed-by': 'app-platform-operator', 'labrats.work/app': A } },
      spec: { interval: '10m', path: './', prune: true, sourceRef: { kind: 'GitRepository', name: kname } } });
    kubectl(['-n', nsOf(A, 'platform'), 'patch', 'kustomization', kname, '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { lastAppliedRevision: `main@sha1:${sha}`, lastAttemptedRevision: `main@sha1:${sha}` } })]);
    ev = await sse.wait((e) => e.event === 'secret' && e.json?.object?.name === 'db' && e.json.object.status === 'Applied', 3000);
    ok(ev && ev.json.object.targets.every((t) => t.status === 'Applied'), 'Committed -> Applied once the platform Kustomization applied the commit', ev);
  } else skip('Committed -> Applied', haveFlux ? 'a real operator and Flux decide' : 'Flux CRDs not found');

  // reads by every role of A; nothing for B's users
  for (const u of ['alice', 'bob', 'carol']) {
    r = await s[u].get(`/api/v1/apps/${A}/secrets`);
    const db = r.json?.items?.find((i) => i.name === 'db');
    ok(r.status === 200 && db && db.keys.includes('password'), `${u} lists key names of A's secrets`, r.text);
  }
  r = await s.dave.get(`/api/v1/apps/${A}/secrets`);
  ok(r.status === 404 && !r.text.includes('"db"') && !r.text.includes('password'), 'a user of app B gets 404 for app A, no names leaked', r.text);
  r = await s.carol.get(`/api/v1/apps/${B}/namespaces`);
  ok(r.status === 404 && !r.text.includes(nsOf(B, 'dev')), 'a user of app A gets 404 for app B', r.text);
  r = await s.alice.get(`/api/v1/apps/${A}/secrets/db`);
  ok(r.status === 200 && r.json.targetNamespaces.length === 2 && r.json.requestedBy === 'alice', 'GET one secret', r.text);
  r = await s.alice.get(`/api/v1/apps/${A}/secrets/nope`);
  ok(r.status === 404, 'GET a missing secret: 404');

  // writes refused by RBAC through impersonation
  r = await s.carol.send('PUT', `/api/v1/apps/${A}/secrets/db`, { data: { password: newValue('carol') } });
  ok(r.status === 403 && /forbidden/i.test(r.text) && r.text.includes('oidc:carol'), 'a reader edits a secret: 403 with the apiserver message', r.text);
  r = await s.carol.send('POST', `/api/v1/apps/${A}/secrets`, { name: 'x', targetNamespaces: [nsOf(A, 'dev')], data: { k: newValue('carol2') } });
  ok(r.status === 403, 'a reader creates a secret: 403', r.text);
  r = await s.bob.send('DELETE', `/api/v1/apps/${A}/secrets/db`);
  ok(r.status === 403, 'a developer deletes a secret: 403', r.text);

  // edit: new value, removed key, Pending again
  const v3 = newValue('db-password-2');
  r = await s.alice.send('PUT', `/api/v1/apps/${A}/secrets/db`, { data: { password: v3 }, removeKeys: ['username'], targetNamespaces: [nsOf(A, 'dev')] });
  ok(r.status === 200 && r.json.status === 'Pending' && r.json.keys.join() === 'password' && r.json.targetNamespaces.join() === nsOf(A, 'dev'), 'an admin edits a secret: value replaced, key removed, targets changed, Pending again', r.text);
  {
    const sec = JSON.parse(kubectl(['-n', nsOf(A, 'platform'), 'get', 'secret', 'db', '-o', 'json']));
    ok(Buffer.from(sec.data.password, 'base64').toString() === v3 && !sec.data.username && sec.metadata.annotations['labrats.work/committed'] === 'false', 'the edit reached the intent Secret');
  }
  // validation
  r = await s.alice.send('POST', `/api/v1/apps/${A}/secrets`, { name: 'bad', targetNamespaces: [nsOf(B, 'dev')], data: { k: newValue('x') } });
  ok(r.status === 422 && /not one of the namespaces/.test(r.json?.error?.message), 'a target outside the app: 422', r.text);
  const htmlKey = '<img src=x onerror=alert(1)>';
  r = await s.alice.send('POST', `/api/v1/apps/${A}/secrets`, { name: 'html', targetNamespaces: [nsOf(A, 'dev')], data: { [htmlKey]: newValue('html') } });
  ok(r.status === 422 && r.json?.error?.message.includes(htmlKey) && /application\/json/.test(r.headers.get('content-type')) && r.headers.get('x-content-type-options') === 'nosniff',
    'a key name holding HTML round-trips as JSON data (refused: Secrets cannot hold it)', r.text);
  r = await s.alice.send('POST', `/api/v1/apps/${A}/secrets`, { name: 'db', targetNamespaces: [nsOf(A, 'dev')], data: { k: newValue('dup') } });
  ok(r.status === 409, 'creating an existing secret: 409', r.text);
  r = await s.alice.send('POST', `/api/v1/apps/${A}/secrets`, '{"name":', {});
  ok(r.status === 400, 'a malformed body: 400');

  // CSRF and same-origin rules
  r = await s.alice.send('POST', `/api/v1/apps/${A}/secrets`, { name: 'c1', targetNamespaces: [nsOf(A, 'dev')], data: { k: newValue('c1') } }, { 'X-CSRF-Token': null });
  ok(r.status === 403 && /CSRF/.test(r.text), 'a mutation without the CSRF token: 403', r.text);
  r = await s.alice.send('DELETE', `/api/v1/apps/${A}/secrets/db`, undefined, { 'X-CSRF-Token': s.bob.csrf });
  ok(r.status === 403, "another session's CSRF token: 403", r.text);
  r = await s.alice.send('DELETE', `/api/v1/apps/${A}/secrets/db`, undefined, { Origin: 'https://evil.example' });
  ok(r.status === 403, 'a cross-origin mutation: 403', r.text);
  r = await s.alice.send('DELETE', `/api/v1/apps/${A}/secrets/db`, undefined, { 'Sec-Fetch-Site': 'cross-site' });
  ok(r.status === 403, 'Sec-Fetch-Site: cross-site: 403', r.text);
  r = await s.alice.send('POST', `/api/v1/apps/${A}/secrets`, 'name=x', { 'Content-Type': 'text/plain' });
  ok(r.status === 415, 'a simple content type: 415', r.text);

  // cookies
  {
    const good = s.alice.jar.get(host, 'ap-session');
    const j = new Jar();
    const flip = good.slice(0, -3) + (good.at(-3) === 'A' ? 'B' : 'A') + good.slice(-2);
    j.set(host, 'ap-session', flip);
    r = await req(j, `${base}/api/v1/session`);
    ok(r.status === 401, 'a tampered session cookie: 401', r.text);
    const now = Math.floor(Date.now() / 1000);
    const payload = { sid: 'forged-sid-0123456789', sub: 'alice', usr: 'alice', grp: ['app-a-admins'], iat: now - 100, exp: now + 3600, aexp: now + 3600 };
    j.set(host, 'ap-session', seal(keyMaterial, 'k1', 'ap-session', payload));
    r = await req(j, `${base}/api/v1/session`);
    ok(r.status === 200 && r.json.user.name === 'alice', 'a cookie sealed with the session key opens (the format is as documented)', r.text);
    j.set(host, 'ap-session', seal(keyMaterial, 'k1', 'ap-session', { ...payload, exp: now - 10 }));
    r = await req(j, `${base}/api/v1/session`);
    ok(r.status === 401 && /expired/.test(r.text), 'an expired session cookie: 401', r.text);
    j.set(host, 'ap-session', seal(crypto.randomBytes(32).toString('hex'), 'k1', 'ap-session', payload));
    r = await req(j, `${base}/api/v1/session`);
    ok(r.status === 401, 'a cookie sealed with another key: 401', r.text);
    j.set(host, 'ap-session', seal(keyMaterial, 'k1', 'ap-login', payload));
    r = await req(j, `${base}/api/v1/session`);
    ok(r.status === 401, 'a login-state cookie presented as a session: 401', r.text);
    r = await req(new Jar(), `${base}/api/v1/apps`);
    ok(r.status === 401 && r.json?.error?.login === '/auth/login', 'no cookie: 401 naming the login URL');
  }
  // callback misuse
  r = await req(new Jar(), `${base}/auth/callback?code=x&state=y`);
  ok(r.status === 400 && !(r.headers.get('set-cookie') || '').includes('ap-session='), 'a callback without a login in progress gets no session', r.text);

  // limits and headers
  {
    // Expect: 100-continue, so the client waits for the server's verdict before sending 2 MiB (a client
    // that sends anyway may see the connection closed under it after the 413)
    const u = new URL(base);
    const status = await new Promise((resolve) => {
      const rq = http.request({ host: u.hostname, port: u.port, method: 'POST', path: `/api/v1/apps/${A}/secrets`,
        headers: { Cookie: s.alice.jar.header(host), 'Content-Type': 'application/json', 'X-CSRF-Token': s.alice.csrf,
          'Content-Length': String(2 << 20), Expect: '100-continue' } }, (res) => { res.resume(); resolve(res.statusCode); });
      rq.on('continue', () => rq.end('x'.repeat(2 << 20)));
      rq.on('error', (e) => resolve(String(e)));
    });
    ok(status === 413, 'a 2 MiB body: 413', status);
  }
  r = await req(null, `${base}/api/v1/apps?x=${'a'.repeat(9000)}`);
  ok(r.status === 414, 'a 9 KiB URL: 414', r.status);
  r = await req(null, `${base}/api/v1/apps`, { headers: { 'X-Big': 'b'.repeat(70000) } });
  ok(r.status === 431, '70 KiB of headers: 431', r.status);
  r = await s.alice.get(`/api/v1/apps/${A}/secrets`);
  {
    const h = r.headers;
    ok(/frame-ancestors 'none'/.test(h.get('content-security-policy')) && /script-src 'self'/.test(h.get('content-security-policy')) && !/unsafe-inline/.test(h.get('content-security-policy')),
      'CSP without inline script, frame-ancestors none', h.get('content-security-policy'));
    ok(h.get('x-content-type-options') === 'nosniff' && h.get('referrer-policy') === 'strict-origin-when-cross-origin' && h.get('cache-control') === 'no-store' && !h.get('strict-transport-security'),
      'nosniff, Referrer-Policy, Cache-Control: no-store on the API, no HSTS over plain HTTP');
  }
  r = await req(null, `${base}/`);
  ok(r.status === 200 && /text\/html/.test(r.headers.get('content-type')) && (r.text.includes('/auth/login') || /<script type="module"[^>]* src="\/assets\//.test(r.text)),
    'the index page is served (the web build, or the placeholder without one)', r.text.slice(0, 300));

  // permissions (access reviews as the user)
  r = await s.alice.get(`/api/v1/apps/${A}/permissions`);
  ok(r.status === 200 && r.json.secrets.create && r.json.secrets.delete && r.json.namespaces.edit && !r.json.registrations.edit, 'permissions of an admin', r.text);
  r = await s.carol.get(`/api/v1/apps/${A}/permissions`);
  ok(r.status === 200 && !r.json.secrets.create && !r.json.namespaces.edit && r.json.role === 'reader', 'permissions of a reader', r.text);
  r = await s.bob.get(`/api/v1/apps/${A}/permissions`);
  ok(r.status === 200 && !r.json.secrets.update && Object.values(r.json.kustomizations).every((v) => !v.create), 'permissions of a developer', r.text);

  // namespaces
  r = await s.alice.get(`/api/v1/apps/${A}/namespaces`);
  ok(r.status === 200 && r.json.items.map((i) => i.name).join() === [nsOf(A, 'platform'), nsOf(A, 'dev'), nsOf(A, 'prod')].join() && r.json.items[0].role === 'platform', 'list namespaces', r.text);
  r = await s.alice.send('POST', `/api/v1/apps/${A}/namespaces`, { name: 'other-qa' });
  ok(r.status === 422 && r.json.error.message.includes(`${A}-`), 'a namespace without the app prefix: 422', r.text);
  r = await s.bob.send('POST', `/api/v1/apps/${A}/namespaces`, { name: nsOf(A, 'qa') });
  ok(r.status === 403, 'a developer adds a namespace: 403', r.text);
  r = await s.alice.send('POST', `/api/v1/apps/${A}/namespaces`, { name: nsOf(A, 'qa') });
  ok(r.status === 200 && r.json.namespaces.includes(nsOf(A, 'qa')), 'an admin adds a namespace (spec.namespaces)', r.text);
  await sleep(300);
  r = await s.alice.send('DELETE', `/api/v1/apps/${A}/namespaces/${nsOf(A, 'qa')}`);
  ok(r.status === 200 && !r.json.namespaces.includes(nsOf(A, 'qa')), 'an admin removes a namespace', r.text);
  r = await s.alice.send('DELETE', `/api/v1/apps/${A}/namespaces/${nsOf(A, 'platform')}`);
  ok(r.status === 422, 'the platform namespace cannot be removed', r.text);

  // registrations
  r = await s.alice.get('/api/v1/registrations');
  ok(r.status === 403 && !r.text.includes(B), 'a non-admin gets no registrations', r.text);
  r = await s.erin.get('/api/v1/registrations');
  ok(r.status === 200 && r.json.items.some((i) => i.name === A) && r.json.items.some((i) => i.name === B), 'the platform admin lists registrations', r.text.slice(0, 300));
  r = await s.erin.get(`/api/v1/registrations/${A}`);
  ok(r.status === 200 && r.json.access.length === 3 && r.json.ready.status, 'GET one registration', r.text);
  r = await s.erin.send('POST', '/api/v1/registrations', { name: C, namespaces: [nsOf(C, 'dev')], access: [{ group: 'app-c-admins', role: 'admin' }] });
  ok(r.status === 201 && r.json.name === C, 'the platform admin registers an app (as themselves)', r.text);
  r = await s.erin.send('PUT', `/api/v1/registrations/${C}`, { namespaces: [nsOf(C, 'dev'), nsOf(C, 'prod')], access: [{ group: 'app-c-admins', role: 'admin' }, { group: 'app-c-readers', role: 'reader' }] });
  ok(r.status === 200 && r.json.namespaces.length === 2 && r.json.access.length === 2, 'the platform admin edits namespaces and access', r.text);
  r = await s.erin.send('POST', '/api/v1/registrations', { name: `${C}x`, namespaces: ['wrong-prefix'] });
  ok(r.status === 422 && /must start with/.test(r.text), "the CRD's refusal is passed on (422 with its message)", r.text);
  r = await s.alice.send('POST', '/api/v1/registrations', { name: `${C}y` });
  ok(r.status === 403, 'a non-admin registers an app: 403', r.text);

  // OIDC clients
  apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-oidc', namespace: nsOf(A, 'platform'), labels: { 'labrats.work/oidc-client': `${A}-web`, 'labrats.work/app': A }, annotations: { 'labrats.work/oidc-status': 'Registered' } },
    stringData: { hostname: `web.${A}.example`, clientSecret: newValue('oidc-client-secret') } });
  await sleep(500);
  r = await s.carol.get(`/api/v1/apps/${A}/oidcclients`);
  {
    const c = r.json?.items?.find((i) => i.clientId === `${A}-web`);
    ok(r.status === 200 && c && c.hostname === `web.${A}.example` && c.callbackURL === `https://web.${A}.example/api/auth/oidc/callback` && c.status === 'Registered' && c.issuer === issuer,
      'OIDC clients: client id, hostname, callback URL, issuer, status', r.text);
  }

  // Flux objects
  if (haveFlux) {
    r = await s.alice.send('POST', `/api/v1/apps/${A}/gitrepositories`, { namespace: nsOf(A, 'dev'), name: 'app-repo', url: 'ssh://git@example.com/app.git', ref: { branch: 'main' }, interval: '1m' });
    ok(r.status === 201 && r.json.url.startsWith('ssh://') && r.json.ready.status === 'Unknown', 'an admin creates a GitRepository', r.text);
    r = await s.alice.send('POST', `/api/v1/apps/${A}/kustomizations`, { namespace: nsOf(A, 'dev'), name: 'app', sourceRef: { name: 'app-repo' }, path: './k8s/overlays/dev', interval: '5m', prune: true,
      postBuild: { substitute: { CLUSTER: 'dev', REPLICAS: '2' } }, dependsOn: [{ name: 'infra' }] });
    ok(r.status === 201 && r.json.postBuild.substitute.CLUSTER === 'dev' && r.json.dependsOn[0].name === 'infra' && r.json.path === './k8s/overlays/dev', 'an admin creates a Kustomization with postBuild.substitute and dependsOn', r.text);
    r = await s.alice.send('POST', `/api/v1/apps/${A}/kustomizations`, { namespace: nsOf(A, 'dev'), name: 'bad', sourceRef: { name: 'app-repo' }, path: '../../etc' });
    ok(r.status === 422, 'a path leaving the repository: 422', r.text);
    r = await s.carol.send('POST', `/api/v1/apps/${A}/gitrepositories`, { namespace: nsOf(A, 'dev'), name: 'carols', url: 'https://example.com/x.git' });
    ok(r.status === 403 && /forbidden/i.test(r.text), 'a reader creates a GitRepository: 403 from the apiserver', r.text);
    await sleep(500);
    r = await s.bob.get(`/api/v1/apps/${A}/kustomizations`);
    const k = r.json?.items?.find((i) => i.name === 'app');
    ok(r.status === 200 && k && k.suspended === false && 'lastAppliedRevision' in k && 'lastAttemptedRevision' in k && k.sourceRef.name === 'app-repo', 'a developer lists Kustomizations with their status fields', r.text);
    r = await s.alice.get(`/api/v1/apps/${A}/gitrepositories`);
    ok(r.status === 200 && r.json.items.some((i) => i.name === 'app-repo'), 'list GitRepositories', r.text);
    r = await s.alice.send('POST', `/api/v1/apps/${A}/kustomizations/${nsOf(A, 'dev')}/app/suspend`);
    ok(r.status === 200 && r.json.suspended === true, 'suspend', r.text);
    r = await s.alice.send('POST', `/api/v1/apps/${A}/kustomizations/${nsOf(A, 'dev')}/app/resume`);
    ok(r.status === 200 && r.json.suspended === false, 'resume', r.text);
    r = await s.alice.send('POST', `/api/v1/apps/${A}/gitrepositories/${nsOf(A, 'dev')}/app-repo/reconcile`);
    ok(r.status === 200 && r.json.reconcileRequestedAt, 'reconcile now (reconcile.fluxcd.io/requestedAt)', r.text);
    r = await s.bob.send('POST', `/api/v1/apps/${A}/kustomizations/${nsOf(A, 'dev')}/app/suspend`);
    ok(r.status === 403, 'a developer suspends: 403', r.text);
    if (!REAL_OPERATOR) {
      r = await s.alice.send('DELETE', `/api/v1/apps/${A}/kustomizations/${nsOf(A, 'platform')}/${A}-platform`);
      ok(r.status === 403 && /managed by the operator/.test(r.text), 'a Managed Kustomization is read-only whatever RBAC allows', r.text);
      r = await s.alice.send('POST', `/api/v1/apps/${A}/kustomizations/${nsOf(A, 'platform')}/${A}-platform/suspend`);
      ok(r.status === 403, 'a Managed Kustomization cannot be suspended', r.text);
    }
    r = await s.alice.send('DELETE', `/api/v1/apps/${A}/kustomizations/${nsOf(A, 'dev')}/app`);
    ok(r.status === 202, 'delete a Kustomization', r.text);
    r = await s.alice.send('DELETE', `/api/v1/apps/${A}/gitrepositories/${nsOf(A, 'dev')}/app-repo`);
    ok(r.status === 202, 'delete a GitRepository', r.text);
    r = await s.dave.get(`/api/v1/apps/${A}/kustomizations`);
    ok(r.status === 404, "a user of B cannot list A's Kustomizations");
  } else {
    skip('Flux endpoints (GitRepositories, Kustomizations)', 'the Flux CRDs were not found (tools/peers/build flux, or the Go module cache)');
  }

  // SSE resume, limit, heartbeats
  {
    const last = sse.events.filter((e) => e.id).at(-1);
    const again = openEvents(base, s.alice.jar, { lastEventId: Number(last.id) - 1 });
    const replay = await again.wait((e) => e.id === last.id, 2000);
    ok(replay, 'a reconnect with Last-Event-ID replays what it missed');
    const extra = openEvents(base, s.alice.jar);
    await extra.opened();
    const over = openEvents(base, s.alice.jar);
    await over.opened();
    ok(over.status === 429, 'a 4th stream for one user (limit 3): 429', over.status);
    over.close(); extra.close(); again.close();
    const hb = await sse.wait((e) => e.comment === ': ping', 4000);
    ok(hb, 'heartbeat comments on an idle stream');
  }

  // delete marks for deletion
  r = await s.alice.send('DELETE', `/api/v1/apps/${A}/secrets/db`);
  ok(r.status === 202 && r.json.status === 'Deleting', 'an admin deletes a secret: marked-for-deletion, Deleting', r.text);
  ev = await sse.wait((e) => e.event === 'secret' && e.json?.object?.name === 'db' && e.json.object.status === 'Deleting', 3000);
  ok(ev, 'the Deleting status arrives over SSE');
  {
    const ann = JSON.parse(kubectl(['-n', nsOf(A, 'platform'), 'get', 'secret', 'db', '-o', 'json'])).metadata.annotations;
    ok(ann['labrats.work/marked-for-deletion'] === 'true', 'the intent carries labrats.work/marked-for-deletion');
  }

  // refresh: the access token lives 40 s and refreshes 30 s early, so it is due now; 5 requests at once
  // with the same cookie share one refresh (the provider rotates refresh tokens: a second use would fail)
  {
    await sleep(Math.max(0, 11000 - (Date.now() - t0)));
    const fresh = await login(base, 'bob', 'bob-pw');
    await sleep(10500);
    const before = idpLog.filter((l) => l.includes('grant refresh_token')).length;
    const cookie = fresh.jar.header(host);
    const rs = await Promise.all([...Array(5)].map(() => req(null, `${base}/api/v1/apps`, { headers: { Cookie: cookie } })));
    ok(rs.every((x) => x.status === 200), 'five concurrent requests due for refresh all succeed', rs.map((x) => x.status));
    ok(rs.every((x) => /ap-session=v1\./.test(x.headers.get('set-cookie') || '')), 'each gets the refreshed cookie');
    await sleep(300);
    const after = idpLog.filter((l) => l.includes('grant refresh_token')).length;
    ok(after - before === 1, 'exactly one refresh reached the provider', { before, after });
  }

  // logout (RP-initiated)
  r = await s.carol.send('POST', '/auth/logout');
  ok(r.status === 200 && r.json.providerLogout && r.json.redirect.startsWith(`${issuer}/session/end`) && /ap-session=;/.test(r.headers.get('set-cookie') || ''), 'logout clears the cookie and names the provider logout URL', r.text);

  // no secret value anywhere
  {
    const leaks = secretValues.filter((v) => seenBodies.some((b) => b.includes(v)));
    ok(leaks.length === 0 && seenBodies.length > 50, `no API answer or SSE event (${seenBodies.length} scanned) contains a value written (${secretValues.length})`, leaks);
    const logs = dashStderr.join('');
    ok(!secretValues.some((v) => logs.includes(v)), "the dashboard's log holds no secret value");
  }

  // TLS when given a certificate: a second instance serving HTTPS with HSTS
  {
    const cert = path.join(tmp, 'tls.crt'), key = path.join(tmp, 'tls.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tport = await freePort();
    const t = spawn(BIN, ['dashboard', '--kubeconfig', kubeconfig, '--listen', `127.0.0.1:${tport}`, '--health-addr', '0',
      '--public-url', `https://127.0.0.1:${tport}`, '--oidc-issuer-url', issuer, '--tls-cert-file', cert, '--tls-key-file', key,
      '--session-key-dir', keyDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(t);
    t.stderr.on('data', () => {});
    await waitLine(t, /listening (\d+)/, 'the TLS dashboard');
    const got = await new Promise((resolve) => {
      https.get({ host: '127.0.0.1', port: tport, path: '/api/v1/session', ca: fs.readFileSync(cert) }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, hsts: res.headers['strict-transport-security'], cookie: res.headers['set-cookie'] });
      }).on('error', (e) => resolve({ error: String(e) }));
    });
    ok(got.status === 401 && /max-age=63072000/.test(got.hsts || ''), 'with a certificate it serves HTTPS, with HSTS', got);
    const lr = await new Promise((resolve) => {
      https.get({ host: '127.0.0.1', port: tport, path: '/auth/login', ca: fs.readFileSync(cert) }, (res) => { res.resume(); resolve(res.headers['set-cookie'] || []); })
        .on('error', (e) => resolve([String(e)]));
    });
    ok(lr.some((c) => c.startsWith('__Host-ap-login=') && /; Secure/.test(c) && /HttpOnly/.test(c) && /SameSite=Lax/.test(c) && /Path=\//.test(c)),
      'secure cookies: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/', lr);
    t.kill('SIGTERM');
  }

  // graceful shutdown with a stream open
  {
    const tStop = Date.now();
    dash.kill('SIGTERM');
    const code = await new Promise((res) => dash.on('exit', (c) => res(c)));
    await sleep(100);
    ok(code === 0 && sse.ended && Date.now() - tStop < 10000, 'SIGTERM ends the SSE streams and exits 0', { code, ended: sse.ended });
    sseB.close();
  }
}

main().then(async () => {
  console.log(`1..${report.n}`);
  await cleanup();
  process.exit(report.failed ? 1 : 0);
}).catch(async (e) => {
  console.log(`not ok ${++report.n} - unexpected error\n# ${String(e.stack).split('\n').join('\n# ')}`);
  console.log(`1..${report.n}`);
  if (dashStderr.length) console.log(`# dashboard log tail:\n# ${dashStderr.join('').split('\n').slice(-30).join('\n# ')}`);
  await cleanup();
  process.exit(1);
});
