// App.tsx - the frame around every page: a skip link, the header (app context selector, live state, the
// user and logout), the sidebar, the page, and the ARIA live region that reads out status changes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { post } from './api';
import { connect, disconnect } from './events';
import { PAGES, appHref, navigate, onLinkClick, useRoute, type PageId, type Route } from './router';
import { loadPerms, state, useStore } from './store';
import type { AppItem } from './types';
import { Empty, ErrorBox, Loading } from './ui';
import { GitRepositories } from './pages/GitRepositories';
import { Kustomizations } from './pages/Kustomizations';
import { Namespaces } from './pages/Namespaces';
import { OidcClients } from './pages/OidcClients';
import { Registrations } from './pages/Registrations';
import { Secrets } from './pages/Secrets';

const LAST_APP = 'app-platform.app';

export function LoginPage({ reason }: { reason?: string }) {
  const ret = location.pathname + location.search;
  return (
    <main class="login" id="main">
      <div class="login-card">
        <Logo />
        <h1>App Platform</h1>
        <p>{reason || 'Sign in with your organisation’s single sign-on to manage your apps.'}</p>
        <a class="btn primary big" href={`/auth/login?return=${encodeURIComponent(ret === '/' ? '/' : ret)}`}>
          Log in with SSO
        </a>
      </div>
    </main>
  );
}

function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" />
      <path d="M8 22 16 8l8 14z" />
    </svg>
  );
}

function LiveState() {
  const live = useStore((s) => s.live);
  const text = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' }[live];
  const title = {
    connecting: 'Opening the live update stream',
    live: 'Changes appear here as they happen, without reloading',
    reconnecting: 'The live stream dropped; reconnecting (what changed meanwhile is replayed)',
    offline: 'No live updates: retrying every few seconds. Reload the page to be sure you see the current state.',
  }[live];
  return (
    <span class={`live live-${live}`} title={title}>
      <span class="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

async function logout() {
  disconnect();
  try {
    const r = await post<{ redirect: string }>('/auth/logout');
    state.loggedOut = true;
    location.href = r.redirect || '/';
  } catch {
    location.href = '/';
  }
}

function AppSelect({ apps, route }: { apps: AppItem[]; route: Route }) {
  const current = route.name === 'app' ? route.app : '';
  const page: PageId = route.name === 'app' ? route.page : 'secrets';
  return (
    <div class="app-select">
      <label for="app-select">App</label>
      <select
        id="app-select"
        value={apps.some((a) => a.name === current) ? current : ''}
        onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          if (v) navigate(appHref(v, page));
        }}
      >
        {!apps.some((a) => a.name === current) && <option value="">Choose an app…</option>}
        {apps.map((a) => (
          <option key={a.name} value={a.name}>
            {a.name} ({a.role === 'none' ? 'platform admin' : a.role})
          </option>
        ))}
      </select>
    </div>
  );
}

function Sidebar({ route, apps, open, onNavigate }: { route: Route; apps: AppItem[]; open: boolean; onNavigate: () => void }) {
  const admin = useStore((s) => !!s.session?.platformAdmin);
  const app = route.name === 'app' ? route.app : localStorage.getItem(LAST_APP) || apps[0]?.name;
  const known = app && apps.some((a) => a.name === app);
  return (
    <nav class={`sidebar ${open ? 'open' : ''}`} id="sidebar" aria-label="Pages" onClick={onNavigate}>
      {admin && (
        <>
          <p class="nav-section">Platform</p>
          <ul>
            <li>
              <a href="/registrations" aria-current={route.name === 'registrations' ? 'page' : undefined}>
                App Registrations
              </a>
            </li>
          </ul>
        </>
      )}
      <p class="nav-section">{known ? app : 'App'}</p>
      <ul>
        {PAGES.map((p) => (
          <li key={p.id}>
            {known ? (
              <a
                href={appHref(app, p.id)}
                aria-current={route.name === 'app' && route.page === p.id && route.app === app ? 'page' : undefined}
              >
                {p.title}
              </a>
            ) : (
              <span class="nav-disabled" title="Choose an app first">
                {p.title}
              </span>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}

function LiveRegion() {
  const msgs = useStore((s) => s.announcements);
  return (
    <div class="sr-only" role="status" aria-live="polite" aria-atomic="false" id="live-region">
      {msgs.map((m) => (
        <p key={m.id}>{m.text}</p>
      ))}
    </div>
  );
}

function Page({ route, apps }: { route: Route; apps: AppItem[] }) {
  const session = useStore((s) => s.session);
  const perms = useStore((s) => (route.name === 'app' ? s.perms[route.app] : undefined));
  useEffect(() => {
    if (route.name === 'app' && apps.some((a) => a.name === route.app)) {
      localStorage.setItem(LAST_APP, route.app);
      if (!state.perms[route.app]) void loadPerms(route.app);
    }
  }, [route.name === 'app' ? route.app : '', apps]);

  if (route.name === 'home') {
    const last = localStorage.getItem(LAST_APP);
    const pick = apps.find((a) => a.name === last) || apps[0];
    if (pick) {
      queueMicrotask(() => navigate(appHref(pick.name, 'secrets'), true));
      return <Loading what="your apps" />;
    }
    if (session?.platformAdmin) {
      queueMicrotask(() => navigate('/registrations', true));
      return <Loading what="app registrations" />;
    }
    return (
      <section class="page">
        <h1 tabIndex={-1}>Welcome</h1>
        <Empty title="You have no app here yet">
          <p>
            Apps appear once a platform admin adds one of your SSO groups to an app registration’s access list. Your groups:{' '}
            {session?.user.groups.length ? session.user.groups.map((g) => <code key={g}>{g} </code>) : 'none'}.
          </p>
        </Empty>
      </section>
    );
  }
  if (route.name === 'registrations') {
    if (!session?.platformAdmin)
      return (
        <section class="page">
          <h1 tabIndex={-1}>App Registrations</h1>
          <Empty title="App registrations are for platform admins only">
            <p>Ask a platform admin to register an app or to change its namespaces and access.</p>
          </Empty>
        </section>
      );
    return <Registrations />;
  }
  if (route.name === 'notfound')
    return (
      <section class="page">
        <h1 tabIndex={-1}>Page not found</h1>
        <Empty title={`There is no page at ${route.path}`}>
          <p>
            <a href="/">Go to your apps</a>
          </p>
        </Empty>
      </section>
    );
  const app = apps.find((a) => a.name === route.app);
  if (!app)
    return (
      <section class="page">
        <h1 tabIndex={-1}>App not found</h1>
        <Empty title={`No app '${route.app}' that you have a role in`}>
          <p>
            Check the name, or ask a platform admin to add one of your groups to its access list.{' '}
            {apps.length > 0 && <a href={appHref(apps[0].name, route.page)}>Go to {apps[0].name}</a>}
          </p>
        </Empty>
      </section>
    );
  const p = perms && !(perms instanceof Error) ? perms : undefined;
  const permsError = perms instanceof Error ? perms : null;
  const props = { app, perms: p, permsError };
  switch (route.page) {
    case 'secrets':
      return <Secrets key={app.name} {...props} />;
    case 'namespaces':
      return <Namespaces key={app.name} {...props} />;
    case 'gitrepositories':
      return <GitRepositories key={app.name} {...props} />;
    case 'kustomizations':
      return <Kustomizations key={app.name} {...props} />;
    case 'oidcclients':
      return <OidcClients key={app.name} {...props} />;
  }
}

export function App() {
  const route = useRoute();
  const session = useStore((s) => s.session)!;
  const apps = useStore((s) => s.apps);
  const appsError = useStore((s) => s.appsError);
  const [menu, setMenu] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    connect();
    return disconnect;
  }, []);
  // A new page: move focus to its heading, so keyboard and screen-reader users start there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const t = window.setTimeout(() => mainRef.current?.querySelector<HTMLElement>('h1')?.focus(), 0);
    return () => window.clearTimeout(t);
  }, [location.pathname]);
  useEffect(() => {
    const title = document.querySelector('main h1')?.textContent;
    document.title = title ? `${title} · App Platform` : 'App Platform';
  });

  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <button
          type="button"
          class="btn ghost menu-toggle"
          aria-expanded={menu}
          aria-controls="sidebar"
          onClick={() => setMenu(!menu)}
        >
          <span aria-hidden="true">☰</span> Menu
        </button>
        <a href="/" class="brand" aria-label="App Platform: home">
          <Logo />
          <span>App Platform</span>
        </a>
        {apps && <AppSelect apps={apps} route={route} />}
        <div class="top-right">
          <LiveState />
          <span class="user" title={`Groups: ${session.user.groups.join(', ') || 'none'}`}>
            {session.user.name}
            {session.platformAdmin && <span class="badge small">platform admin</span>}
          </span>
          <button type="button" class="btn ghost small" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <div class="body">
        <Sidebar route={route} apps={apps || []} open={menu} onNavigate={() => setMenu(false)} />
        <main id="main" ref={mainRef} tabIndex={-1}>
          {appsError ? (
            <ErrorBox error={appsError} what="Your apps could not be loaded" />
          ) : apps ? (
            <Page route={route} apps={apps} />
          ) : (
            <Loading what="your apps" />
          )}
        </main>
      </div>
      <LiveRegion />
    </div>
  );
}
