// ui.tsx - the small pieces every page uses: status badges (icon + word, never colour alone), the Managed
// badge, relative times with the exact time on hover, copy buttons, loading/empty/error states, form
// fields wired to their errors (aria-invalid, aria-describedby), and modal dialogs (<dialog>: focus is
// kept inside, Escape closes, focus returns to the opener).
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from './api';
import { announce } from './store';
import type { Health, Tone } from './status';
import { exactTime, relativeTime } from './time';

const ICON: Record<Tone, string> = { ok: '✓', warn: '!', bad: '✕', busy: '◌', idle: '‖' };

export function Badge({ health, compact }: { health: Health; compact?: boolean }) {
  return (
    <span class={`badge tone-${health.tone}`} title={compact && health.message ? health.message : undefined}>
      <span class="badge-icon" aria-hidden="true">
        {ICON[health.tone]}
      </span>
      {health.label}
    </span>
  );
}

export function Dot({ tone, label }: { tone: Tone; label: string }) {
  return (
    <span class={`dot tone-${tone}`} role="img" aria-label={label} title={label}>
      <span aria-hidden="true">{ICON[tone]}</span>
    </span>
  );
}

export function Managed() {
  return (
    <span class="badge managed" title="Created by the operator from the app registration: read-only here">
      Managed
    </span>
  );
}

// Every RelTime re-renders twice a minute, together.
const tickers = new Set<() => void>();
let tickTimer: number | undefined;
function useTick(): void {
  const [, set] = useState(0);
  useEffect(() => {
    const f = () => set((n) => n + 1);
    tickers.add(f);
    if (!tickTimer) tickTimer = window.setInterval(() => tickers.forEach((t) => t()), 30000);
    return () => {
      tickers.delete(f);
    };
  }, []);
}

export function RelTime({ iso, prefix }: { iso: string | null | undefined; prefix?: string }) {
  useTick();
  if (!iso) return null;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {prefix}
      {relativeTime(iso)}
    </time>
  );
}

export function Copy({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      announce(`${label} copied`);
      window.setTimeout(() => setDone(false), 2000);
    } catch {
      announce(`Copying is not allowed here: select the text and copy it by hand`);
    }
  };
  return (
    <button type="button" class="btn small ghost" onClick={copy} aria-label={`Copy ${label}`}>
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <div class="empty-body">{children}</div>}
    </div>
  );
}

// The server's messages say what went wrong and what to do; a few answers get a next step of our own.
export function nextStep(e: ApiError): string | null {
  if (e.status === 0) return null;
  if (e.status === 401) return 'Your session ended: log in again.';
  if (e.status === 404 && /no app/.test(e.message)) return null;
  if (e.status === 409 && !/reload/.test(e.message)) return 'Reload the page to see the current state, then try again.';
  if (e.status === 429) return 'Too many requests or live streams: close other dashboard tabs, then try again.';
  if (e.status >= 500 && !/try again|ask/.test(e.message)) return 'Try again in a moment; if it keeps failing, ask a platform admin.';
  return null;
}

export function ErrorBox({ error: e, what, onRetry }: { error: ApiError | Error; what?: string; onRetry?: () => void }) {
  const error = e as ApiError;
  const causes = error.causes || [];
  const next = typeof error.status === 'number' ? nextStep(error) : null;
  return (
    <div class="error-box" role="alert">
      <p class="error-title">{what || 'Something went wrong'}</p>
      <p class="error-message">{capital(error.message)}</p>
      {causes.length > 0 && (
        <ul class="error-causes">
          {causes.map((c, i) => (
            <li key={i}>
              {c.field && <code>{c.field}</code>} {c.message}
            </li>
          ))}
        </ul>
      )}
      {next && <p class="error-next">{next}</p>}
      {onRetry && (
        <button type="button" class="btn small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export const capital = (s: string) => (s ? s[0].toUpperCase() + s.slice(1) : s);

// A reason an action is not offered: shown once, near where the action would be.
export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice">
      <span aria-hidden="true" class="notice-icon">
        i
      </span>
      <span>{children}</span>
    </p>
  );
}

interface FieldProps {
  id: string;
  label: ComponentChildren;
  error?: string | null;
  hint?: ComponentChildren;
  children: (p: { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string }) => JSX.Element;
  class?: string;
}

// A label, the control, its hint and its error; the control gets the ids it must point to.
export function Field({ id, label, error, hint, children, class: cls }: FieldProps) {
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class={`field ${cls || ''} ${error ? 'has-error' : ''}`}>
      <label for={id}>{label}</label>
      {children({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': described || undefined })}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

export function Dialog({
  title,
  onClose,
  children,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  // The opener is the element focused when the dialog is first rendered: by the time an effect runs, an
  // autofocus field inside may already hold the focus.
  const [opener] = useState(() => document.activeElement as HTMLElement | null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      // Close first: while the modal dialog is open everything outside it is inert and cannot take focus.
      if (d && d.open) d.close();
      if (opener && opener.isConnected && opener !== document.body) opener.focus();
      else document.getElementById('main')?.focus();
    };
  }, []);
  const id = `dlg-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog
      ref={ref}
      class={`dialog ${wide ? 'wide' : ''}`}
      aria-labelledby={id}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id={id}>{title}</h2>
        <button type="button" class="btn ghost small" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {children}
    </dialog>
  );
}

export function Confirm({
  title,
  children,
  action,
  onConfirm,
  onClose,
  busy,
  error,
}: {
  title: string;
  children: ComponentChildren;
  action: string;
  onConfirm: () => void;
  onClose: () => void;
  busy: boolean;
  error: ApiError | Error | null;
}) {
  return (
    <Dialog title={title} onClose={onClose}>
      <div class="dialog-body">{children}</div>
      {error && <ErrorBox error={error} what={`${action} failed`} />}
      <div class="dialog-actions">
        <button type="button" class="btn" onClick={onClose}>
          Cancel
        </button>
        <button type="button" class="btn danger" onClick={onConfirm} disabled={busy}>
          {busy ? `${action}…` : action}
        </button>
      </div>
    </Dialog>
  );
}

// A form's submit: runs the request, keeps its error, reports busy.
export function useSubmit<T>(run: () => Promise<T>, done: (r: T) => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await run();
      setBusy(false);
      done(r);
    } catch (e) {
      setBusy(false);
      setError(e as ApiError);
    }
  };
  return { busy, error, submit, setError };
}
