// store.ts - the page's state in one place: the session, the apps, each loaded list (by app and kind),
// permissions per app, the live-stream state and the messages of the ARIA live region. Components read
// it through useStore() and re-render when it changes; lists are kept up to date by events.ts.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, appPath, get } from './api';
import type { AppItem, Kind, Permissions, Registration, Session } from './types';

export interface ListState<T> {
  items: T[];
  loading: boolean;
  error: ApiError | null;
  loaded: boolean;
}

export type Live = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface State {
  session: Session | null;
  sessionError: ApiError | null;
  loggedOut: boolean;
  apps: AppItem[] | null;
  appsError: ApiError | null;
  lists: Record<string, ListState<any>>;
  perms: Record<string, Permissions | ApiError>;
  live: Live;
  announcements: { id: number; text: string }[];
}

export const state: State = {
  session: null,
  sessionError: null,
  loggedOut: false,
  apps: null,
  appsError: null,
  lists: {},
  perms: {},
  live: 'connecting',
  announcements: [],
};

const listeners = new Set<() => void>();
let scheduled = false;
export function changed(): void {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const l of [...listeners]) l();
  });
}

export function useStore<T>(select: (s: State) => T): T {
  const [, force] = useState(0);
  useEffect(() => {
    const l = () => force((n) => n + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return select(state);
}

export const listKey = (app: string | null, kind: Kind | 'registrations') => (app ? `${app}/${kind}` : kind);

const emptyList = <T>(): ListState<T> => ({ items: [], loading: false, error: null, loaded: false });

export function getList<T>(key: string): ListState<T> {
  return (state.lists[key] as ListState<T>) || emptyList<T>();
}

const pathOf = (key: string) => {
  if (key === 'registrations') return '/api/v1/registrations';
  const i = key.lastIndexOf('/');
  return appPath(key.slice(0, i), key.slice(i + 1));
};

const inflight = new Map<string, Promise<void>>();
// A load asked for while one is in flight runs again once that one ends: the running request may have
// been answered before the change that asked for the new one (a namespace removed just after the list
// was read), and its answer must not be the last word.
const again = new Set<string>();

export function loadList(key: string): Promise<void> {
  const running = inflight.get(key);
  if (running) {
    again.add(key);
    return running.then(() => inflight.get(key));
  }
  const cur = getList(key);
  state.lists[key] = { ...cur, loading: true };
  changed();
  const p = get<{ items: unknown[] }>(pathOf(key))
    .then((r) => {
      state.lists[key] = { items: r.items || [], loading: false, error: null, loaded: true };
    })
    .catch((e: ApiError) => {
      state.lists[key] = { ...getList(key), loading: false, error: e, loaded: true };
    })
    .finally(() => {
      inflight.delete(key);
      changed();
      if (again.delete(key)) void loadList(key);
    });
  inflight.set(key, p);
  return p;
}

export function reloadAllLists(): void {
  for (const k of Object.keys(state.lists)) void loadList(k);
  void loadApps();
  state.perms = {};
  changed();
}

const idOf = (o: { name?: string; namespace?: string | null }) => `${o.namespace || ''}/${o.name || ''}`;

// Put an object into a loaded list (replacing the one with the same namespace/name); returns the old one.
export function upsert<T extends { name?: string; namespace?: string | null }>(key: string, obj: T): T | undefined {
  const cur = state.lists[key] as ListState<T> | undefined;
  if (!cur) return undefined;
  const id = idOf(obj);
  const i = cur.items.findIndex((x) => idOf(x) === id);
  const items = [...cur.items];
  const old = i >= 0 ? items[i] : undefined;
  if (i >= 0) items[i] = obj;
  else items.push(obj);
  state.lists[key] = { ...cur, items };
  changed();
  return old;
}

export function remove(key: string, obj: { name?: string; namespace?: string | null }): void {
  const cur = state.lists[key];
  if (!cur) return;
  const id = idOf(obj);
  state.lists[key] = { ...cur, items: cur.items.filter((x: any) => idOf(x) !== id) };
  changed();
}

export async function loadApps(): Promise<void> {
  try {
    const r = await get<{ items: AppItem[] }>('/api/v1/apps');
    state.apps = r.items.sort((a, b) => a.name.localeCompare(b.name));
    state.appsError = null;
  } catch (e) {
    state.appsError = e as ApiError;
  }
  changed();
}

const permsInflight = new Map<string, Promise<void>>();
export function loadPerms(app: string): Promise<void> {
  const running = permsInflight.get(app);
  if (running) return running;
  const p = get<Permissions>(appPath(app, 'permissions'))
    .then((r) => {
      state.perms[app] = r;
    })
    .catch((e: ApiError) => {
      state.perms[app] = e;
    })
    .finally(() => {
      permsInflight.delete(app);
      changed();
    });
  permsInflight.set(app, p);
  return p;
}

let announceId = 0;
export function announce(text: string): void {
  state.announcements = [...state.announcements.slice(-4), { id: ++announceId, text }];
  changed();
}

export function registrationsOf(): Registration[] {
  return getList<Registration>('registrations').items;
}

// A page's list: loaded when first shown, then kept current by the live stream.
export function useList<T>(key: string): ListState<T> {
  const l = useStore((s) => s.lists[key] as ListState<T> | undefined);
  useEffect(() => {
    if (!state.lists[key] || (!state.lists[key].loaded && !state.lists[key].loading)) void loadList(key);
  }, [key]);
  return l || { items: [], loading: true, error: null, loaded: false };
}
