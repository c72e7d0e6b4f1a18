// main.tsx - start: ask for the session; without one show the login page, with one load the apps and
// render the dashboard.
import { render } from 'preact';
import { ApiError, get, setCsrf, setUnauthorizedHandler } from './api';
import { App, LoginPage } from './App';
import { changed, loadApps, state } from './store';
import type { Session } from './types';
import './styles.css';

const root = document.getElementById('app')!;

function showLogin(reason?: string) {
  render(<LoginPage reason={reason} />, root);
}

setUnauthorizedHandler(() => {
  if (state.session) {
    state.session = null;
    showLogin('Your session has ended. Log in again to continue where you were.');
  }
});

async function start() {
  try {
    const s = await get<Session>('/api/v1/session');
    state.session = s;
    setCsrf(s.csrfToken);
    changed();
    render(<App />, root);
    void loadApps();
  } catch (e) {
    const err = e as ApiError;
    if (err.status === 401) showLogin();
    else
      render(
        <main class="login" id="main">
          <div class="login-card" role="alert">
            <h1>The dashboard is not available</h1>
            <p>{err.message}</p>
            <button type="button" class="btn primary" onClick={() => location.reload()}>
              Try again
            </button>
          </div>
        </main>,
        root,
      );
  }
}

void start();
