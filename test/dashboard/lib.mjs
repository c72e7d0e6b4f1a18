// lib.mjs - what the dashboard's integration test and benchmark share: TAP output, a cookie jar, fetch without
// following redirects, a real login through the OIDC provider's own pages (authorization, login form,
// consent, callback), and an SSE client that timestamps each event. Every body and event data seen is
// appended to `seen`, so a test can scan them all.
import http from 'node:http';

export const seen = [];

// TAP: t.ok(cond, name, diag) prints one test line (diag as '#' lines when it fails) and returns cond;
// t.skip(name, why) a skipped one; t.n and t.failed count them for the closing lines.
export function tap() {
  const t = {
    n: 0,
    failed: 0,
    ok: (cond, name, diag) => {
      t.n++;
      if (!cond) t.failed++;
      console.log(`${cond ? 'ok' : 'not ok'} ${t.n} - ${name}`);
      if (!cond && diag !== undefined) console.log(`# ${String(typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n').join('\n# ')}`);
      return cond;
    },
    skip: (name, why) => {
      t.n++;
      console.log(`ok ${t.n} - ${name} # SKIP ${why}`);
    },
  };
  return t;
}

// ---- HTTP with cookie jars ----
export class Jar {
  constructor() { this.c = new Map(); }
  take(res, host) {
    for (const sc of res.headers.getSetCookie?.() || []) {
      const [pair, ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const k = `${host} ${pair.slice(0, i).trim()}`, v = pair.slice(i + 1).trim();
      if (attrs.some((a) => /max-age=0\b/i.test(a.trim())) || v === '') this.c.delete(k); else this.c.set(k, v);
    }
  }
  header(host) {
    return [...this.c].filter(([k]) => k.startsWith(`${host} `)).map(([k, v]) => `${k.slice(host.length + 1)}=${v}`).join('; ');
  }
  get(host, name) { return this.c.get(`${host} ${name}`); }
  set(host, name, v) { this.c.set(`${host} ${name}`, v); }
}

export async function req(jar, url, opts = {}) {
  const u = new URL(url);
  const headers = { ...(opts.headers || {}) };
  const ck = jar ? jar.header(u.host) : '';
  if (ck && !headers.Cookie) headers.Cookie = ck;
  const res = await fetch(url, { method: opts.method || 'GET', headers, body: opts.body, redirect: 'manual' });
  if (jar) jar.take(res, u.host);
  const text = await res.text();
  if (!opts.noRecord) seen.push(text);
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// Drive a real login through the provider: authorization -> login form -> consent -> callback.
export async function login(base, user, password) {
  const jar = new Jar();
  let r = await req(jar, `${base}/auth/login`);
  if (r.status !== 302) throw new Error(`/auth/login answered ${r.status}: ${r.text}`);
  let url = r.headers.get('location');
  for (let hops = 0; hops < 20; hops++) {
    if (url.startsWith(base)) {
      r = await req(jar, url);
      return { jar, callback: r };
    }
    r = await req(jar, url, { noRecord: true });
    if (r.status >= 300 && r.status < 400) { url = new URL(r.headers.get('location'), url).href; continue; }
    if (r.status !== 200) return { jar, callback: r };
    const action = /<form[^>]*action="([^"]+)"/.exec(r.text)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(r.text)?.[1];
    if (!action || !prompt) throw new Error(`unexpected provider page: ${r.text.slice(0, 500)}`);
    const form = new URLSearchParams({ prompt });
    if (prompt === 'login') { form.set('login', user); form.set('password', password); }
    r = await req(jar, new URL(action, url).href, { method: 'POST', body: form.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, noRecord: true });
    if (r.status >= 300 && r.status < 400) { url = new URL(r.headers.get('location'), url).href; continue; }
    return { jar, callback: r };
  }
  throw new Error('too many redirects');
}

// ---- SSE ----
export function openEvents(base, jar, { lastEventId } = {}) {
  const u = new URL(`${base}/api/v1/events`);
  const events = [];
  let raw = '';
  const waiters = [];
  const headers = { Cookie: jar.header(u.host), Accept: 'text/event-stream' };
  if (lastEventId) headers['Last-Event-ID'] = String(lastEventId);
  const state = { status: 0, ended: false, events, raw: () => raw };
  const r = http.get({ host: u.hostname, port: u.port, path: u.pathname, headers }, (res) => {
    state.status = res.statusCode;
    state.headers = res.headers;
    state.contentTypes = res.rawHeaders.filter((_, i) => i % 2 === 0 && res.rawHeaders[i].toLowerCase() === 'content-type').length;
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (d) => {
      raw += d;
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = { at: Date.now() };
        for (const line of block.split('\n')) {
          const m = /^(\w+): ?(.*)$/.exec(line);
          if (m && m[1] === 'data') ev.data = (ev.data ? `${ev.data}\n` : '') + m[2]; else if (m) ev[m[1]] = m[2];
          else if (line.startsWith(':')) ev.comment = line;
        }
        if (ev.data) { seen.push(ev.data); try { ev.json = JSON.parse(ev.data); } catch { /* keep raw */ } }
        events.push(ev);
        for (const w of [...waiters]) if (w.pred(ev)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(ev); }
      }
    });
    res.on('end', () => { state.ended = true; for (const w of waiters) w.resolve(null); });
  });
  r.on('error', () => { state.ended = true; });
  state.close = () => r.destroy();
  state.wait = (pred, ms = 5000) => {
    const found = events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const w = { pred, resolve };
      waiters.push(w);
      setTimeout(() => { const i = waiters.indexOf(w); if (i >= 0) { waiters.splice(i, 1); resolve(null); } }, ms);
    });
  };
  state.opened = () => new Promise((res) => { const t = setInterval(() => { if (state.status || state.ended) { clearInterval(t); res(); } }, 10); });
  return state;
}

