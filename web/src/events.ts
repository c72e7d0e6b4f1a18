// events.ts - the live stream (GET /api/v1/events, Server-Sent Events): each change of an object the user
// may see arrives as an event named by its kind, with the object as the list shows it, and goes into the
// loaded list at once. EventSource reconnects by itself with Last-Event-ID (the server replays what it
// missed, or sends `resync`: reload everything); a stream that ends for good is reopened after a pause,
// after checking the session still holds.
import { get } from './api';
import { announce, changed, getList, listKey, loadApps, loadList, reloadAllLists, remove, state, upsert } from './store';
import type { Kind, SecretItem } from './types';

const KIND_OF: Record<string, Kind | 'registrations'> = {
  secret: 'secrets',
  gitrepository: 'gitrepositories',
  kustomization: 'kustomizations',
  oidcclient: 'oidcclients',
  namespace: 'namespaces',
  registration: 'registrations',
};

interface Ev {
  action: 'upsert' | 'delete';
  app: string | null;
  object: any;
}

let es: EventSource | null = null;
let retryTimer: number | undefined;
const refetchTimers = new Map<string, number>();

// Some lists are put together by the server from several objects (namespaces: the registration's list
// and each Namespace): those are fetched again, at most every 300 ms, instead of patched.
function refetchSoon(key: string): void {
  if (!state.lists[key] || refetchTimers.has(key)) return;
  refetchTimers.set(
    key,
    window.setTimeout(() => {
      refetchTimers.delete(key);
      void loadList(key);
    }, 300),
  );
}

export function handle(name: string, ev: Ev): void {
  const kind = KIND_OF[name];
  if (!kind) return;
  if (kind === 'registrations') {
    if (ev.action === 'delete') remove('registrations', ev.object || {});
    else if (ev.object) upsert('registrations', ev.object);
    if (ev.object?.name) {
      refetchSoon(listKey(ev.object.name, 'namespaces'));
      void loadApps();
    }
    return;
  }
  if (!ev.app) return;
  const key = listKey(ev.app, kind);
  if (kind === 'namespaces') {
    refetchSoon(key);
    return;
  }
  if (ev.action === 'delete') {
    remove(key, ev.object || {});
    if (kind === 'secrets' && ev.object?.name) announce(`Secret ${ev.object.name} was deleted`);
    return;
  }
  if (!ev.object) return;
  const old = upsert(key, ev.object);
  if (kind === 'secrets') {
    const s = ev.object as SecretItem;
    if (old && (old as SecretItem).status !== s.status) announce(`Secret ${s.name}: ${s.status}`);
  }
}

function onMessage(name: string) {
  return (e: MessageEvent) => {
    try {
      handle(name, JSON.parse(e.data) as Ev);
    } catch {
      /* a malformed event is skipped */
    }
  };
}

export function connect(): void {
  if (es) es.close();
  window.clearTimeout(retryTimer);
  state.live = state.live === 'live' ? 'reconnecting' : 'connecting';
  changed();
  const src = new EventSource('/api/v1/events');
  es = src;
  let opened = false;
  src.onopen = () => {
    if (opened || state.live !== 'live') {
      state.live = 'live';
      changed();
    }
    opened = true;
  };
  for (const n of Object.keys(KIND_OF)) src.addEventListener(n, onMessage(n) as EventListener);
  src.addEventListener('resync', () => reloadAllLists());
  src.onerror = () => {
    if (src.readyState === EventSource.CONNECTING) {
      state.live = 'reconnecting';
      changed();
      return;
    }
    // closed for good (an HTTP error such as 401 or 429): check the session, then try again later
    src.close();
    if (es === src) es = null;
    state.live = 'offline';
    changed();
    get('/api/v1/session')
      .then(() => {
        retryTimer = window.setTimeout(() => {
          connect();
          reloadAllLists(); // what changed meanwhile is not replayed to a new stream
        }, 5000);
      })
      .catch(() => {
        /* 401: api.ts has switched to the login page */
      });
  };
}

export function disconnect(): void {
  window.clearTimeout(retryTimer);
  if (es) es.close();
  es = null;
}

// For tests and the benchmark: how many items a loaded list holds.
export const listSize = (key: string) => getList(key).items.length;
