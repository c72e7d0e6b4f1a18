// browser.mjs - the dashboard benchmark's browser side (bench/dashboard/run), in Debian's Chromium driven
// by playwright-core (the browser tests' packages: test/web/install):
//   node browser.mjs BASE COOKIE APP SECRET PKI_DIR APISERVER COUNT
// first-load: a fresh browser context holding only the session cookie opens BASE/apps/APP/secrets and
//   waits for the live list; the compressed bytes Chromium received for the page's HTML, JS and CSS (the
//   response bodies as sent, Content-Encoding included) are summed; the API answers and the icon are
//   counted apart.
// event-to-browser: COUNT times, the labrats.work/commit annotation of Secret SECRET in APP-platform is
//   patched straight at the apiserver (admin client certificate from PKI_DIR) and the time from just
//   before the write to the moment the page shows the new commit (a MutationObserver in the page) is taken.
// Prints "first-load html+js+css=<bytes> api=<bytes> other=<bytes> requests=<n>" and
// "event-to-browser p50=<ms> p99=<ms> max=<ms> n=<changes>".
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { chromium } = createRequire(path.join(src, 'test/web/package.json'))('playwright-core');

const [base, cookie, app, secret, pki, server, count] = process.argv.slice(2);
const ns = `${app}-platform`;

function patchCommit(commit) {
  const u = new URL(`${server}/api/v1/namespaces/${ns}/secrets/${secret}`);
  const body = JSON.stringify({ metadata: { annotations: { 'labrats.work/commit': commit } } });
  return new Promise((resolve, reject) => {
    const r = https.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH',
      ca: fs.readFileSync(path.join(pki, 'ca.crt')), cert: fs.readFileSync(path.join(pki, 'admin.crt')),
      key: fs.readFileSync(path.join(pki, 'admin.key')),
      headers: { 'Content-Type': 'application/merge-patch+json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let d = '';
      res.on('data', (c) => { d += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PATCH ${res.statusCode}: ${d}`))));
    });
    r.on('error', reject);
    r.end(body);
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  chromiumSandbox: false,
  args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic'],
});
let rc = 0;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const [name, ...rest] = cookie.split('=');
  await ctx.addCookies([{ name, value: rest.join('='), url: base }]);
  const page = await ctx.newPage();
  const responses = [];
  page.on('requestfinished', (req) => responses.push(req));
  await page.goto(`${base}/apps/${app}/secrets`);
  await page.locator(`li.card[data-name="${secret}"]`).waitFor({ timeout: 60000 });
  await page.locator('.live-live').waitFor({ timeout: 60000 });
  await page.waitForLoadState('networkidle').catch(() => {});
  const sum = { page: 0, api: 0, other: 0 };
  for (const req of responses) {
    const { responseBodySize } = await req.sizes();
    const kind = req.resourceType();
    if (['document', 'script', 'stylesheet'].includes(kind)) sum.page += responseBodySize;
    else if (new URL(req.url()).pathname.startsWith('/api/')) sum.api += responseBodySize;
    else sum.other += responseBodySize;
  }
  console.log(`first-load html+js+css=${sum.page} api=${sum.api} other=${sum.other} requests=${responses.length}`);

  const lat = [];
  for (let i = 0; i < Number(count); i++) {
    const commit = crypto.randomBytes(20).toString('hex');
    const seen = page.evaluate(
      ({ secret, commit }) =>
        new Promise((resolve) => {
          const sel = `li.card[data-name="${secret}"] code.commit[title="${commit}"]`;
          const done = () => resolve(performance.timeOrigin + performance.now());
          if (document.querySelector(sel)) return done();
          const mo = new MutationObserver(() => {
            if (document.querySelector(sel)) {
              mo.disconnect();
              done();
            }
          });
          mo.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
          setTimeout(() => resolve(null), 10000);
        }),
      { secret, commit },
    );
    await new Promise((r) => setTimeout(r, 50)); // the observer is in place
    const t0 = Date.now();
    await patchCommit(commit);
    const at = await seen;
    if (at !== null) lat.push(Math.max(0, at - t0));
    await new Promise((r) => setTimeout(r, 100));
  }
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)].toFixed(1);
  if (lat.length) console.log(`event-to-browser p50=${q(0.5)} p99=${q(0.99)} max=${lat.at(-1).toFixed(1)} n=${lat.length}`);
  if (lat.length !== Number(count)) {
    console.error(`event-to-browser: ${Number(count) - lat.length} of ${count} changes never reached the page`);
    rc = 1;
  }
} finally {
  await browser.close();
}
process.exit(rc);
