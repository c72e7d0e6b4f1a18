// browser.mjs - the dashboard's pages in Debian's Chromium (playwright-core; headless, --no-sandbox,
// background networking off), against the world test/web/browser.sh built: the real control plane, Flux,
// operator and dashboard binary, logging in through the test OIDC provider's own login form. Every
// scenario of the dashboard-pages issue, then screenshots of every page in light and dark and an axe-core
// check. Output: TAP (numbering continues from TAP_START). Run it through browser.sh.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { AxeBuilder } from '@axe-core/playwright';
import { chromium } from 'playwright-core';

const env = process.env;
const SRC = env.SRCDIR;
const BIN = env.APP_PLATFORM_BIN;
const A = env.WEB_A;
const B = env.WEB_B;
const RUN = env.WEB_RUN_ID;
const TMP = env.WEB_TMP;
const SHOTS = env.WEB_SCREENSHOT_DIR || path.join(SRC, 'test-artifacts', 'screenshots');
const TIMEOUT = Number(env.WEB_TIMEOUT_MS || 60000);

// ---- TAP ----
let n = Number(env.TAP_START || 0);
let failed = 0;
function ok(cond, name, diag) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!cond && diag !== undefined) console.log(`# ${String(diag).split('\n').join('\n# ')}`);
  return !!cond;
}
// step NAME FN: FN throws to fail (its message is the diagnostic); returns FN's result or undefined.
async function step(name, fn) {
  try {
    const r = await fn();
    ok(true, name);
    return r;
  } catch (e) {
    ok(false, name, e && e.stack ? e.stack : e);
    // a dialog a failed step left open would block every later click on the page
    for (const p of livePages) await closeDialogs(p).catch(() => {});
    return undefined;
  }
}
const livePages = new Set();
async function closeDialogs(p) {
  if (p.isClosed()) return livePages.delete(p);
  for (let i = 0; i < 3 && (await p.locator('dialog[open]').count()) > 0; i++) await p.keyboard.press('Escape');
}
const must = (cond, msg) => {
  if (!cond) throw new Error(msg);
};

// ---- processes ----
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
const kubectl = (args, input) =>
  execFileSync(env.KUBECTL, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const kjson = (args) => JSON.parse(kubectl([...args, '-o', 'json']));

async function freePort() {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

function waitLine(child, re, what, ms = 60000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what} did not start: ${buf.slice(-2000)}`)), ms);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = re.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited ${code}: ${buf.slice(-2000)}`));
    });
  });
}

async function until(what, fn, ms = TIMEOUT, every = 250) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await sleep(every);
  }
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const idp = spawn('node', [path.join(SRC, 'test/dashboard/idp/idp.mjs')], {
  env: { ...env, IDP_PORT: '0', IDP_REDIRECT_URIS: `${base}/auth/callback`, IDP_POST_LOGOUT_URIS: `${base}/` },
  stdio: ['ignore', 'pipe', 'pipe'],
});
children.push(idp);
const issuer = (await waitLine(idp, /ready (\S+)/, 'the OIDC provider'))[1];
const idpOrigin = new URL(issuer).origin;
fs.writeFileSync(path.join(TMP, 'client-secret'), 'dash+secret/with%odd:chars\n', { mode: 0o600 });
fs.mkdirSync(path.join(TMP, 'keys'), { recursive: true });
fs.writeFileSync(path.join(TMP, 'keys', 'k1'), crypto.randomBytes(32).toString('base64'), { mode: 0o600 });
const dashLog = [];
const dash = spawn(BIN, ['dashboard', '--kubeconfig', env.WEB_DASH_KUBECONFIG, '--listen', `127.0.0.1:${port}`,
  '--health-addr', '0', '--public-url', base, '--insecure-cookies', '--oidc-issuer-url', issuer,
  '--oidc-client-secret-file', path.join(TMP, 'client-secret'), '--session-key-dir', path.join(TMP, 'keys'),
  '--authz-cache', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
children.push(dash);
dash.stderr.on('data', (d) => dashLog.push(String(d)));
await waitLine(dash, /listening (\d+)/, 'the dashboard');
await until('the dashboard to be ready', async () => (await fetch(`${base}/readyz`)).status === 200, 60000);

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  chromiumSandbox: false, // playwright then passes --no-sandbox (root cannot sandbox here)
  args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic', '--disable-features=Translate,MediaRouter,OptimizationHints'],
});

// Every page error and every console error (a CSP refusal is one) fails the test at the end.
const pageProblems = [];
async function newPage(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light', ...opts });
  ctx.setDefaultTimeout(20000);
  const page = await ctx.newPage();
  livePages.add(page);
  page.on('close', () => livePages.delete(page));
  page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message} (${page.url()})`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const where = m.location()?.url || '';
    // The test provider's own pages (oidc-provider's dev views) name resources this offline machine
    // cannot resolve: not ours.
    if (page.url().startsWith(idpOrigin) || where.startsWith(idpOrigin)) return;
    // Refusals the pages expect and show (a logged-out visit asks for its session: 401)
    if (/Failed to load resource: the server responded with a status of (403|404|409|422)/.test(text)) return;
    if (/status of 401/.test(text) && (where === '' || where.endsWith('/api/v1/session'))) return;
    pageProblems.push(`console: ${text}${where ? ` (${where})` : ''} on ${page.url()}`);
  });
  return { ctx, page };
}

// Log in through the dashboard's login page and the provider's own form.
async function login(user, password, opts) {
  const { ctx, page } = await newPage(opts);
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'Log in with SSO' }).click();
  await page.locator('input[name=login]').fill(user);
  await page.locator('input[name=password]').fill(password);
  await page.locator('button[type=submit]').click();
  await page.waitForURL((u) => u.href.startsWith(base) || /interaction/.test(u.href));
  if (!page.url().startsWith(base)) await page.locator('button[type=submit]').click(); // consent
  await page.waitForURL((u) => u.href.startsWith(base) && !u.pathname.startsWith('/auth/'));
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  return { ctx, page };
}

const go = async (page, p) => {
  await page.evaluate((href) => {
    history.pushState(null, '', href);
    dispatchEvent(new PopStateEvent('popstate'));
  }, p);
};
const card = (page, name) => page.locator(`li.card[data-name="${name}"]`);
const apiAs = (page, method, p, body) =>
  page.evaluate(
    async ({ method, p, body }) => {
      const s = await (await fetch('/api/v1/session')).json();
      const r = await fetch(p, {
        method,
        headers: { 'X-CSRF-Token': s.csrfToken, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: r.status, text: await r.text() };
    },
    { method, p, body },
  );

const values = []; // every secret value typed; none may show up in a page, an answer or a log
const newValue = (l) => {
  const v = `v-${l}-${crypto.randomBytes(8).toString('hex')}`;
  values.push(v);
  return v;
};
const decoded = (ns, name, key) => {
  try {
    const s = kjson(['get', 'secret', '-n', ns, name]);
    return s.data && s.data[key] ? Buffer.from(s.data[key], 'base64').toString() : null;
  } catch {
    return null;
  }
};

// ====================================================================================================
// 1. An app admin: secrets live, namespaces, Flux objects
const alice = await step('an app admin logs in through the provider’s login form', () => login('alice', 'alice-pw'));
const pa = alice?.page;
if (!pa) {
  console.log(`1..${n}`);
  process.exit(1);
}
await step('the app admin lands on the Secrets page of their only app', async () => {
  await pa.waitForURL(`${base}/apps/${A}/secrets`);
  const options = await pa.locator('#app-select option').allTextContents();
  must(options.length === 1 && options[0].startsWith(A), `selector offers ${JSON.stringify(options)}`);
  await pa.getByRole('heading', { level: 1, name: 'Secrets' }).waitFor();
  await pa.locator('.live-live').waitFor();
});

const v1 = newValue('db1');
await step('create a secret: Pending, then Committed and Applied in both targets without a reload', async () => {
  await pa.evaluate(() => {
    window.__noReload = 'still-here';
  });
  await pa.getByRole('button', { name: 'Create secret' }).click();
  const dlg = pa.getByRole('dialog', { name: 'Create secret' });
  await dlg.getByLabel('Name', { exact: true }).fill('db');
  await dlg.getByLabel(`${A}-dev`).check();
  await dlg.getByLabel(`${A}-prod`).check();
  await dlg.getByLabel('Key 1').fill('password');
  await dlg.getByLabel('Value 1', { exact: true }).fill(v1);
  must((await dlg.getByLabel('Value 1', { exact: true }).getAttribute('type')) === 'password', 'the value field is not a password field');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await dlg.waitFor({ state: 'detached' });
  const c = card(pa, 'db');
  await c.waitFor();
  const seen = new Set();
  const t0 = Date.now();
  const end = t0 + TIMEOUT;
  for (;;) {
    const st = await c.getAttribute('data-status');
    seen.add(st);
    if (st === 'Applied') break;
    must(Date.now() < end, `status stayed at ${st}; saw ${[...seen]}`);
    await sleep(50);
  }
  const journeys = await c.locator('ol.journey').evaluateAll((ls) => ls.map((l) => l.getAttribute('data-status')));
  must(journeys.length === 2 && journeys.every((s) => s === 'Applied'), `per-target journeys: ${journeys}`);
  must(seen.has('Committed') || seen.has('Pending'), `only saw ${[...seen]}`);
  must((await pa.evaluate(() => window.__noReload)) === 'still-here', 'the page reloaded');
  const commit = await c.locator('code.commit').getAttribute('title');
  const cluster = kjson(['get', 'secret', '-n', `${A}-platform`, 'db']).metadata.annotations['labrats.work/commit'];
  must(commit && commit === cluster, `commit shown ${commit}, annotation ${cluster}`);
  console.log(`# statuses seen: ${[...seen].join(' -> ')}; Applied after ${Date.now() - t0} ms`);
});
await step('Flux applied the value in both target namespaces', () =>
  until('the decrypted Secret', () => decoded(`${A}-dev`, 'db', 'password') === v1 && decoded(`${A}-prod`, 'db', 'password') === v1));
await step('the live region announced the status changes', async () => {
  const text = await pa.locator('#live-region').textContent();
  must(/Secret db: (Committed|Applied)/.test(text), `live region: ${text}`);
});

const v2 = newValue('db2');
const u1 = newValue('user');
await step('edit the secret: values are never prefilled; a new key and a new value arrive', async () => {
  await card(pa, 'db').getByRole('button', { name: 'Edit secret db' }).click();
  const dlg = pa.getByRole('dialog', { name: 'Edit secret db' });
  must((await dlg.getByLabel('Value 1', { exact: true }).inputValue()) === '', 'the existing value is prefilled');
  await dlg.getByLabel('Value 1', { exact: true }).fill(v2);
  await dlg.getByRole('button', { name: 'Add key' }).click();
  await dlg.getByLabel('Key 2').fill('username');
  await dlg.getByLabel('Value 2', { exact: true }).fill(u1);
  await dlg.getByRole('button', { name: 'Update' }).click();
  await dlg.waitFor({ state: 'detached' });
  await until('the edit to be Applied', async () => {
    const c = card(pa, 'db');
    return (await c.getAttribute('data-status')) === 'Applied' && (await c.locator('.keys').textContent()).includes('username');
  });
  await until('the new values in the cluster', () => decoded(`${A}-dev`, 'db', 'password') === v2 && decoded(`${A}-dev`, 'db', 'username') === u1);
});

const vk = newValue('kbd');
await step('keyboard only: create a secret with Tab, typing, Space and Enter', async () => {
  await pa.locator('#main h1').focus();
  let found = false;
  for (let i = 0; i < 30 && !found; i++) {
    await pa.keyboard.press('Tab');
    found = await pa.evaluate(() => document.activeElement?.textContent === 'Create secret');
  }
  must(found, 'Tab never reached the Create secret button');
  await pa.keyboard.press('Enter');
  const dlg = pa.getByRole('dialog', { name: 'Create secret' });
  await dlg.waitFor();
  must(await pa.evaluate(() => document.activeElement?.id === 'secret-name'), 'focus is not in the name field');
  await pa.keyboard.type('kbd-secret');
  await pa.keyboard.press('Tab'); // first target namespace
  await pa.keyboard.press('Space');
  await pa.keyboard.press('Tab'); // second target
  await pa.keyboard.press('Tab'); // target name
  await pa.keyboard.press('Tab'); // key 1
  await pa.keyboard.type('token');
  await pa.keyboard.press('Tab'); // value 1
  await pa.keyboard.type(vk);
  await pa.keyboard.press('Enter');
  await dlg.waitFor({ state: 'detached' });
  await card(pa, 'kbd-secret').waitFor();
  await until('the keyboard-made secret in the cluster', () => decoded(`${A}-dev`, 'kbd-secret', 'token') === vk);
  must(await pa.evaluate(() => document.activeElement?.textContent === 'Create secret'), 'focus did not return to the opener');
});

await step('a key name holding <script> is refused as you type and rendered as text', async () => {
  await pa.getByRole('button', { name: 'Create secret' }).click();
  const dlg = pa.getByRole('dialog', { name: 'Create secret' });
  const evil = '<script>window.__xss=1</script>';
  await dlg.getByLabel('Name', { exact: true }).fill('xss');
  await dlg.getByLabel(`${A}-dev`).check();
  await dlg.getByLabel('Key 1').fill(evil);
  await dlg.getByLabel('Value 1', { exact: true }).fill('x');
  const err = await dlg.locator('#key-1-error, [id$="-error"]').first().textContent();
  must(err.includes(evil), `error text: ${err}`);
  await dlg.getByRole('button', { name: 'Create' }).click();
  must(await dlg.isVisible(), 'the form was sent with an invalid key');
  must((await pa.evaluate(() => window.__xss)) === undefined, 'the script ran');
  must((await pa.locator('dialog script').count()) === 0, 'a script element was created');
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  // and the server's own refusal of such a key, shown by the page, is text too
  const r = await apiAs(pa, 'POST', `/api/v1/apps/${A}/secrets`, { name: 'xss', targetNamespaces: [`${A}-dev`], data: { [evil]: 'x' } });
  must(r.status === 422 && JSON.parse(r.text).error.message.includes(evil), `API: ${r.status} ${r.text}`);
});

await step('delete a secret after confirming: Deleting, then gone (and gone from the targets)', async () => {
  await card(pa, 'kbd-secret').getByRole('button', { name: 'Delete secret kbd-secret' }).click();
  const dlg = pa.getByRole('dialog', { name: 'Delete secret kbd-secret?' });
  must((await dlg.textContent()).includes('removes its encrypted file'), 'no explanation in the confirmation');
  await dlg.getByRole('button', { name: 'Delete' }).click();
  await card(pa, 'kbd-secret').waitFor({ state: 'detached', timeout: TIMEOUT });
  await until('the target Secret to be pruned', () => decoded(`${A}-dev`, 'kbd-secret', 'token') === null);
});

// Namespaces
await step('add a namespace: the <app>- prefix is checked as you type', async () => {
  await pa.getByRole('link', { name: 'Namespaces' }).click();
  await pa.getByRole('heading', { level: 1, name: 'Namespaces' }).waitFor();
  for (const ns of [`${A}-platform`, `${A}-dev`, `${A}-prod`]) await card(pa, ns).waitFor();
  must((await card(pa, `${A}-platform`).locator('.managed').count()) === 1, 'the platform namespace has no Managed badge');
  await pa.getByRole('button', { name: 'Add namespace' }).click();
  const dlg = pa.getByRole('dialog', { name: 'Add namespace' });
  const input = dlg.getByLabel('Namespace name');
  await input.fill('qa');
  must((await dlg.locator('.field-error').textContent()).includes(`start with '${A}-'`), 'no prefix error');
  must((await input.getAttribute('aria-invalid')) === 'true', 'not marked invalid');
  await input.fill(`${A}-QA`);
  must((await dlg.locator('.field-error').textContent()).includes('lowercase'), 'no lowercase error');
  await input.fill(`${A}-qa`);
  must((await dlg.locator('.field-error').count()) === 0, 'an error remains for a good name');
  await dlg.getByRole('button', { name: 'Add' }).click();
  await dlg.waitFor({ state: 'detached' });
  await card(pa, `${A}-qa`).waitFor();
  await until('the operator to create the namespace', async () => (await card(pa, `${A}-qa`).textContent()).includes('Active'));
});
await step('remove a namespace: the note says the namespace is kept, and it is', async () => {
  await card(pa, `${A}-qa`).getByRole('button', { name: `Remove namespace ${A}-qa` }).click();
  const dlg = pa.getByRole('dialog', { name: `Remove ${A}-qa from ${A}?` });
  must((await dlg.textContent()).includes('namespace itself is not deleted'), 'no note');
  await dlg.getByRole('button', { name: 'Remove' }).click();
  await card(pa, `${A}-qa`).waitFor({ state: 'detached' });
  const nsObj = kjson(['get', 'namespace', `${A}-qa`]);
  must(nsObj.metadata.name === `${A}-qa`, 'the namespace was deleted');
  must(!kjson(['get', 'apr', A]).spec.namespaces.includes(`${A}-qa`), 'still in spec.namespaces');
});

// Flux objects
kubectl(['create', 'secret', 'generic', 'app-deploy-key', '-n', `${A}-dev`, `--from-file=identity=${env.WEB_APP_REPO_KEY}`,
  `--from-file=known_hosts=${env.WEB_KNOWN_HOSTS}`]);
await step('create a GitRepository for the app repo; Flux fetches it (Ready, revision shown)', async () => {
  await pa.getByRole('link', { name: 'Git Repositories' }).click();
  await pa.getByRole('heading', { level: 1, name: 'Git Repositories' }).waitFor();
  await pa.getByRole('button', { name: 'Create GitRepository' }).click();
  const dlg = pa.getByRole('dialog', { name: 'Create GitRepository' });
  await dlg.getByLabel('Namespace', { exact: true }).selectOption(`${A}-dev`);
  await dlg.getByLabel('Name', { exact: true }).fill('app');
  await dlg.getByLabel('Repository URL').fill('git@example.com:org/repo.git');
  must((await dlg.locator('#gr-url-error').textContent()).includes('ssh://git@example.com/org/repo.git'), 'no scp-syntax hint');
  await dlg.getByLabel('Repository URL').fill(env.WEB_APP_REPO_URL);
  await dlg.getByLabel('Interval').fill('1m');
  await dlg.getByLabel('Credentials Secret').fill('app-deploy-key');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await dlg.waitFor({ state: 'detached' });
  await until('the GitRepository to be Ready', async () => (await card(pa, 'app').locator('.badge').allTextContents()).some((t) => t.includes('Ready')));
  must(/main@[0-9a-f]{7}/.test(await card(pa, 'app').textContent()), 'no revision');
});

const greeting = '<script>window.__xss2=1</script>hello';
await step('create a Kustomization with a postBuild.substitute row; Flux applies it with the value', async () => {
  await pa.getByRole('link', { name: 'Kustomizations' }).click();
  await pa.getByRole('heading', { level: 1, name: 'Kustomizations' }).waitFor();
  await pa.getByRole('button', { name: 'Create Kustomization' }).click();
  const dlg = pa.getByRole('dialog', { name: 'Create Kustomization' });
  await dlg.getByLabel('Namespace', { exact: true }).selectOption(`${A}-dev`);
  await dlg.getByLabel('Name', { exact: true }).fill('app');
  await dlg.getByLabel('Source (GitRepository)').selectOption('app');
  await dlg.getByLabel('Path').fill('./deploy');
  await dlg.getByLabel('Interval').fill('1m');
  // the app repo's ConfigMap names no namespace: Flux applies it cluster-wide unless targetNamespace says
  await dlg.getByLabel('Target namespace (optional)').selectOption(`${A}-dev`);
  await dlg.getByRole('button', { name: 'Add variable' }).click();
  await dlg.getByLabel('Variable 1', { exact: true }).fill('1BAD');
  must((await dlg.locator('.field-error').first().textContent()).includes('do not start with a digit'), 'no variable-name error');
  await dlg.getByLabel('Variable 1', { exact: true }).fill('GREETING');
  await dlg.getByLabel('Value 1', { exact: true }).fill(greeting);
  await dlg.getByRole('button', { name: 'Create' }).click();
  await dlg.waitFor({ state: 'detached' });
  await until('the Kustomization to be Ready', async () => (await card(pa, 'app').locator('.badge').allTextContents()).some((t) => t.includes('Ready')));
  const cm = kjson(['get', 'configmap', '-n', `${A}-dev`, 'web-greeting']);
  must(cm.data.greeting === greeting, `ConfigMap greeting: ${cm.data.greeting}`);
  const text = await card(pa, 'app').textContent();
  must(text.includes(greeting) && text.includes('${GREETING}'), `the card shows ${text}`);
  must((await pa.evaluate(() => window.__xss2)) === undefined && (await pa.locator('li.card script').count()) === 0, 'the value ran as HTML');
  must(/Applied revision\s*main@[0-9a-f]{7}/.test(text), 'no applied revision');
});
await step('suspend and resume the Kustomization', async () => {
  const c = card(pa, 'app');
  await c.getByRole('button', { name: 'Suspend app' }).click();
  await until('Suspended', async () => (await c.locator('.badge').allTextContents()).includes('‖Suspended'));
  must(kjson(['get', 'kustomization', '-n', `${A}-dev`, 'app']).spec.suspend === true, 'spec.suspend is not true');
  await c.getByRole('button', { name: 'Resume app' }).click();
  await until('resumed', async () => !(await c.locator('.badge').allTextContents()).includes('‖Suspended'));
  must(kjson(['get', 'kustomization', '-n', `${A}-dev`, 'app']).spec.suspend === false, 'spec.suspend is not false');
  await c.getByRole('button', { name: 'Reconcile app now' }).click();
  await until('the reconcile annotation', () => !!kjson(['get', 'kustomization', '-n', `${A}-dev`, 'app']).metadata.annotations?.['reconcile.fluxcd.io/requestedAt']);
});
await step('"dependency not ready" is explained, naming the dependency', async () => {
  // infra cannot build (no such path); later depends on it
  const r1 = await apiAs(pa, 'POST', `/api/v1/apps/${A}/kustomizations`, { namespace: `${A}-dev`, name: 'infra', sourceRef: { name: 'app' }, path: './missing', interval: '1m' });
  must(r1.status === 201, `infra: ${r1.status} ${r1.text}`);
  await pa.getByRole('button', { name: 'Create Kustomization' }).click();
  const dlg = pa.getByRole('dialog', { name: 'Create Kustomization' });
  await dlg.getByLabel('Namespace', { exact: true }).selectOption(`${A}-dev`);
  await dlg.getByLabel('Name', { exact: true }).fill('later');
  await dlg.getByLabel('Path').fill('./deploy');
  await dlg.getByRole('group', { name: 'Depends on (optional)' }).getByLabel('infra').check();
  await dlg.getByRole('button', { name: 'Create' }).click();
  await dlg.waitFor({ state: 'detached' });
  const c = card(pa, 'later');
  await until('Waiting for dependency', async () => (await c.textContent()).includes('Waiting for dependency'));
  const text = await c.textContent();
  must(text.includes('spec.dependsOn') && text.includes('infra'), text);
  await until('infra failing', async () => (await card(pa, 'infra').textContent()).includes('Failed'));
});
await step('Managed objects have the badge and no edit, delete or other control', async () => {
  for (const kind of ['Git Repositories', 'Kustomizations']) {
    await pa.getByRole('link', { name: kind }).click();
    const managed = pa.locator(`li.card:has(.badge.managed)`);
    await until(`a Managed ${kind} object`, async () => (await managed.count()) > 0);
    must((await managed.locator('button').count()) === 0, `a Managed ${kind} object has buttons`);
    must((await managed.first().textContent()).includes(`in ${A}-platform`), 'the Managed object is not the platform one');
  }
  const r = await apiAs(pa, 'POST', `/api/v1/apps/${A}/kustomizations/${A}-platform/${A}-platform/suspend`);
  must(r.status === 403 || r.status === 404, `suspending a Managed object via the API: ${r.status}`);
});

// OIDC clients (the reconciler is another issue's: the page shows what the API returns)
kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
  metadata: { name: `${A}-oidc`, namespace: `${A}-platform`, labels: { 'labrats.work/oidc-client': A, 'labrats.work/app': A } },
  stringData: { hostname: `app.${A}.example`, callbackPath: '/api/auth/oidc/callback' } }));
await step('OIDC clients: hostname, callback path, client id, issuer and callback URL to copy, status', async () => {
  await pa.getByRole('link', { name: 'OIDC Clients' }).click();
  const c = card(pa, `${A}-oidc`);
  await c.waitFor({ timeout: TIMEOUT });
  const text = await c.textContent();
  for (const s of [`app.${A}.example`, '/api/auth/oidc/callback', `https://app.${A}.example/api/auth/oidc/callback`, issuer, A])
    must(text.includes(s), `missing ${s} in ${text}`);
  must((await c.getByRole('button', { name: /Copy (issuer|callback) URL/ }).count()) === 2, 'no copy buttons');
});

// ====================================================================================================
// 2. Other roles
const carol = await step('a reader logs in', () => login('carol', 'carol-pw'));
if (carol) {
  const pc = carol.page;
  await step('a reader sees key names but no create, edit or delete control, and the reason', async () => {
    await pc.waitForURL(`${base}/apps/${A}/secrets`);
    await card(pc, 'db').waitFor();
    must((await card(pc, 'db').locator('.keys').textContent()).includes('password'), 'no key names');
    await pc.locator('.notice').waitFor();
    must((await pc.locator('.notice').textContent()).includes('reader role'), 'no reason given');
    must((await pc.locator('main button').count()) === 0, `buttons: ${await pc.locator('main button').allTextContents()}`);
    for (const [link, heading] of [['Namespaces', 'Namespaces'], ['Git Repositories', 'Git Repositories'], ['Kustomizations', 'Kustomizations']]) {
      await pc.getByRole('link', { name: link }).click();
      await pc.getByRole('heading', { level: 1, name: heading }).waitFor();
      await pc.locator('li.card').first().waitFor();
      await pc.locator('.notice').waitFor();
      const buttons = await pc.locator('main button:not(details button)').allTextContents();
      must(buttons.length === 0, `${link}: buttons ${buttons}`);
    }
  });
  await step('a reader calling the API anyway is refused by the apiserver (403)', async () => {
    const r1 = await apiAs(pc, 'POST', `/api/v1/apps/${A}/secrets`, { name: 'sneaky', targetNamespaces: [`${A}-dev`], data: { k: newValue('sneaky') } });
    const r2 = await apiAs(pc, 'DELETE', `/api/v1/apps/${A}/secrets/db`);
    const r3 = await apiAs(pc, 'POST', `/api/v1/apps/${A}/kustomizations/${A}-dev/app/suspend`);
    const r4 = await apiAs(pc, 'POST', `/api/v1/apps/${A}/namespaces`, { name: `${A}-x` });
    must([r1, r2, r3, r4].every((r) => r.status === 403), [r1, r2, r3, r4].map((r) => `${r.status} ${r.text}`).join('\n'));
  });
  await carol.ctx.close();
}

const bob = await step('a developer of app A logs in', () => login('bob', 'bob-pw'));
if (bob) {
  const pb = bob.page;
  await step('a developer of app A cannot see app B in the selector or by URL, and sees no App Registrations', async () => {
    await pb.waitForURL(`${base}/apps/${A}/secrets`);
    const options = await pb.locator('#app-select option').allTextContents();
    must(options.length === 1 && !options.join().includes(B), `selector: ${options}`);
    must((await pb.getByRole('link', { name: 'App Registrations' }).count()) === 0, 'App Registrations is in the sidebar');
    await go(pb, `/apps/${B}/secrets`);
    await pb.getByRole('heading', { level: 1, name: 'App not found' }).waitFor();
    const r = await apiAs(pb, 'GET', `/api/v1/apps/${B}/secrets`);
    must(r.status === 404 && !r.text.includes(`${B}-`), `API: ${r.status} ${r.text}`);
    await go(pb, '/registrations');
    await pb.getByText('App registrations are for platform admins only').waitFor();
    const r2 = await apiAs(pb, 'GET', '/api/v1/registrations');
    must(r2.status === 403 && !r2.text.includes(B), `registrations API: ${r2.status}`);
  });
  await bob.ctx.close();
}

const erin = await step('a platform admin logs in', () => login('erin', 'erin-pw'));
const C = `wc${RUN}`;
if (erin) {
  const pe = erin.page;
  await step('a platform admin sees App Registrations with a health dot and each condition', async () => {
    await pe.getByRole('link', { name: 'App Registrations' }).click();
    await pe.getByRole('heading', { level: 1, name: 'App Registrations' }).waitFor();
    const c = card(pe, A);
    await c.waitFor();
    must((await c.getByRole('img', { name: `${A}: Ready` }).count()) === 1, 'no Ready dot');
    await c.locator('summary').click();
    const conds = await c.locator('.conditions li').allTextContents();
    must(conds.some((t) => t.includes('RBACReady')) && conds.length >= 5, `conditions: ${conds}`);
    const options = await pe.locator('#app-select option').allTextContents();
    must(options.some((o) => o.startsWith(A)) && options.some((o) => o.startsWith(B)), `selector: ${options}`);
  });
  await step('a platform admin registers an app and edits its namespaces and access', async () => {
    await pe.getByRole('button', { name: 'Register app' }).click();
    const dlg = pe.getByRole('dialog', { name: 'Register app' });
    await dlg.getByLabel('App name').fill(C);
    await dlg.getByLabel('Namespace 1', { exact: true }).fill('other-dev');
    must((await dlg.locator('#reg-ns-' + (await dlg.getByLabel('Namespace 1', { exact: true }).getAttribute('id')).split('-').pop() + '-error').textContent()).includes(`'${C}-'`), 'no prefix error');
    await dlg.getByLabel('Namespace 1', { exact: true }).fill(`${C}-dev`);
    await dlg.getByLabel('Group 1', { exact: true }).fill('app-c-admins');
    await dlg.getByRole('button', { name: 'Register' }).click();
    await dlg.waitFor({ state: 'detached' });
    await card(pe, C).waitFor();
    kubectl(['label', 'apr', C, `web.labrats.work/run=${RUN}`]);
    await card(pe, C).getByRole('button', { name: `Edit registration ${C}` }).click();
    const ed = pe.getByRole('dialog', { name: `Edit app ${C}` });
    await ed.getByRole('button', { name: 'Add namespace' }).click();
    await ed.getByLabel('Namespace 2', { exact: true }).fill(`${C}-prod`);
    await ed.getByRole('button', { name: 'Add group' }).click();
    await ed.getByLabel('Group 2', { exact: true }).fill('app-c-readers');
    await ed.getByLabel('Role 2', { exact: true }).selectOption('reader');
    await ed.getByRole('button', { name: 'Save' }).click();
    await ed.waitFor({ state: 'detached' });
    const spec = kjson(['get', 'apr', C]).spec;
    must(spec.namespaces.join() === `${C}-dev,${C}-prod` && spec.access.length === 2 && spec.access[1].role === 'reader', JSON.stringify(spec));
  });
}

// ====================================================================================================
// 3. Screenshots of every page, light and dark (and a phone), and the accessibility check
const pages = [
  ['secrets', `/apps/${A}/secrets`],
  ['namespaces', `/apps/${A}/namespaces`],
  ['gitrepositories', `/apps/${A}/gitrepositories`],
  ['kustomizations', `/apps/${A}/kustomizations`],
  ['oidcclients', `/apps/${A}/oidcclients`],
];
fs.mkdirSync(SHOTS, { recursive: true });
const axeProblems = [];
async function shootAndCheck(p, name, scheme) {
  await p.emulateMedia({ colorScheme: scheme });
  await p.locator('.live-live').waitFor();
  // a full-page shot of a scrolled page paints the sticky header where the scroll left it
  await p.evaluate(() => window.scrollTo(0, 0));
  await sleep(150);
  await p.screenshot({ path: path.join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
  const res = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  for (const v of res.violations)
    if (v.impact === 'serious' || v.impact === 'critical')
      axeProblems.push(`${name} (${scheme}): ${v.id} ${v.impact}: ${v.help}: ${v.nodes.map((x) => x.target.join(' ')).slice(0, 3).join(', ')}`);
}
await step(`screenshots of every page, light and dark, in ${path.relative(SRC, SHOTS) || SHOTS}`, async () => {
  for (const scheme of ['light', 'dark']) {
    for (const [name, href] of pages) {
      await go(pa, href);
      await pa.locator('li.card').first().waitFor();
      await shootAndCheck(pa, name, scheme);
    }
    await go(pa, `/apps/${A}/secrets`);
    await card(pa, 'db').waitFor();
    await pa.getByRole('button', { name: 'Create secret' }).click();
    await pa.getByRole('dialog', { name: 'Create secret' }).getByLabel('Name', { exact: true }).fill('new-secret');
    await shootAndCheck(pa, 'secret-form', scheme);
    await pa.keyboard.press('Escape');
    if (erin) {
      await go(erin.page, '/registrations');
      await card(erin.page, A).waitFor();
      await shootAndCheck(erin.page, 'registrations', scheme);
    }
    const phone = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: scheme, storageState: await alice.ctx.storageState() });
    await phone.page.goto(`${base}/apps/${A}/secrets`);
    await card(phone.page, 'db').waitFor();
    await shootAndCheck(phone.page, 'secrets-phone', scheme);
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    must(overflow <= 1, `the phone page scrolls sideways by ${overflow}px`);
    await phone.page.getByRole('button', { name: 'Menu' }).click();
    await phone.page.getByRole('link', { name: 'Kustomizations' }).click();
    await phone.page.getByRole('heading', { level: 1, name: 'Kustomizations' }).waitFor();
    await phone.ctx.close();
    const out = await newPage({ colorScheme: scheme });
    await out.page.goto(`${base}/`);
    await out.page.getByRole('link', { name: 'Log in with SSO' }).waitFor();
    await shootAndCheck(out.page, 'login', scheme).catch(() => out.page.screenshot({ path: path.join(SHOTS, `login-${scheme}.png`) }));
    await out.ctx.close();
  }
});
ok(axeProblems.length === 0, 'axe-core: no serious or critical accessibility violation on any page, light or dark', axeProblems.join('\n'));

// ====================================================================================================
// 4. What must never happen
await step('no secret value in any page, and none in the dashboard’s or the operator’s log', async () => {
  const html = await pa.content();
  const logs = dashLog.join('') + fs.readFileSync(env.WEB_OPERATOR_LOG, 'utf8');
  for (const v of values) {
    must(!html.includes(v), 'a value is in the page');
    must(!logs.includes(v), 'a value is in a log');
  }
});
ok(pageProblems.length === 0, 'no script error and no console error (CSP refusals included) on any page', pageProblems.join('\n'));
await step('logout ends the session', async () => {
  await pa.getByRole('button', { name: 'Log out' }).click();
  // RP-initiated logout: the provider asks to confirm, then sends the browser back to the dashboard.
  const loginLink = pa.getByRole('link', { name: 'Log in with SSO' });
  await until('the provider’s logout page or the login page', async () =>
    pa.url().startsWith(idpOrigin) || (await loginLink.count()) > 0);
  if (pa.url().startsWith(idpOrigin)) {
    await pa.locator('button[type=submit]').first().click();
    await pa.waitForURL((u) => u.href.startsWith(base));
  }
  await loginLink.waitFor();
  const r = await pa.evaluate(async () => (await fetch('/api/v1/session')).status);
  must(r === 401, `session after logout: ${r}`);
});

await browser.close();
dash.kill('SIGTERM');
idp.kill('SIGTERM');
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
