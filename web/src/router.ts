// router.ts - page addresses: /registrations, /apps/<app>/<page>. History API navigation; links are
// real <a href> so they open in a new tab and work from the keyboard.
import { useEffect, useState } from 'preact/hooks';

export const PAGES = [
  { id: 'secrets', title: 'Secrets' },
  { id: 'namespaces', title: 'Namespaces' },
  { id: 'gitrepositories', title: 'Git Repositories' },
  { id: 'kustomizations', title: 'Kustomizations' },
  { id: 'oidcclients', title: 'OIDC Clients' },
] as const;

export type PageId = (typeof PAGES)[number]['id'];

export type Route =
  | { name: 'home' }
  | { name: 'registrations' }
  | { name: 'app'; app: string; page: PageId }
  | { name: 'notfound'; path: string };

export function parse(path: string): Route {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/') return { name: 'home' };
  if (p === '/registrations') return { name: 'registrations' };
  const m = /^\/apps\/([^/]+)(?:\/([^/]+))?$/.exec(p);
  if (m) {
    let app: string;
    try {
      app = decodeURIComponent(m[1]);
    } catch {
      return { name: 'notfound', path };
    }
    const page = (m[2] || 'secrets') as PageId;
    if (PAGES.some((x) => x.id === page)) return { name: 'app', app, page };
  }
  return { name: 'notfound', path };
}

export const appHref = (app: string, page: PageId) => `/apps/${encodeURIComponent(app)}/${page}`;

const listeners = new Set<() => void>();
export function navigate(href: string, replace = false): void {
  if (href === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  for (const l of [...listeners]) l();
}

window.addEventListener('popstate', () => {
  for (const l of [...listeners]) l();
});

export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const l = () => setPath(location.pathname);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return parse(path);
}

// An <a> click that stays in the app (left button, no modifier key, same origin) navigates in place.
export function onLinkClick(e: MouseEvent): void {
  const a = (e.target as Element).closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.origin !== location.origin || a.hasAttribute('download')) return;
  if (a.pathname.startsWith('/auth/') || a.pathname.startsWith('/api/')) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
