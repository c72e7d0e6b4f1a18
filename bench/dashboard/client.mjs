// client.mjs - the dashboard benchmark's client side (bench/dashboard/run):
//   node client.mjs login BASE USER PASSWORD
//       log in through the OIDC provider's own pages; print the Cookie header value
//   node client.mjs event-to-sse BASE COOKIE PKI_DIR APISERVER NAMESPACE SECRET COUNT
//       open /api/v1/events, then COUNT times: patch an annotation of the Secret straight at the
//       apiserver (admin client certificate from PKI_DIR) and time from the write's answer to the SSE event
//       carrying that resourceVersion; print "p50=<ms> p99=<ms> max=<ms> n=<events>"
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

import { login, openEvents } from '../../test/dashboard/lib.mjs';

const [mode, base, ...rest] = process.argv.slice(2);

function patch(pki, server, ns, name, value) {
  const u = new URL(`${server}/api/v1/namespaces/${ns}/secrets/${name}`);
  const body = JSON.stringify({ metadata: { annotations: { 'bench.app-platform/n': value } } });
  return new Promise((resolve, reject) => {
    const r = https.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH',
      ca: fs.readFileSync(path.join(pki, 'ca.crt')), cert: fs.readFileSync(path.join(pki, 'admin.crt')), key: fs.readFileSync(path.join(pki, 'admin.key')),
      headers: { 'Content-Type': 'application/merge-patch+json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let d = '';
      res.on('data', (c) => { d += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve({ at: Date.now(), rv: JSON.parse(d).metadata.resourceVersion }) : reject(new Error(d))));
    });
    r.on('error', reject);
    r.end(body);
  });
}

if (mode === 'login') {
  const { jar, callback } = await login(base, rest[0], rest[1]);
  if (callback.status !== 302) { console.error(`login failed: ${callback.status} ${callback.text}`); process.exit(1); }
  console.log(jar.header(new URL(base).host));
} else if (mode === 'event-to-sse') {
  const [cookie, pki, server, ns, name, count] = rest;
  const jar = { header: () => cookie };
  const sse = openEvents(base, jar);
  await sse.opened();
  if (sse.status !== 200) { console.error(`events: ${sse.status}`); process.exit(1); }
  const lat = [];
  for (let i = 0; i < Number(count); i++) {
    const w = await patch(pki, server, ns, name, `${Date.now()}-${i}`);
    const ev = await sse.wait((e) => e.event === 'secret' && e.json?.object?.resourceVersion === w.rv, 5000);
    if (ev) lat.push(Math.max(0, ev.at - w.at));
    await new Promise((r) => setTimeout(r, 20));
  }
  sse.close();
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)];
  console.log(`p50=${q(0.5)} p99=${q(0.99)} max=${lat.at(-1)} n=${lat.length}`);
  process.exit(lat.length === Number(count) ? 0 : 1);
} else {
  console.error('usage: client.mjs login|event-to-sse ...');
  process.exit(2);
}
