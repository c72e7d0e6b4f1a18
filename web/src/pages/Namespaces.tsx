// pages/Namespaces.tsx - the app's namespaces with their Managed/role labels; add one (the '<app>-' prefix
// checked as you type) and remove one (the namespace itself is kept, as the guide says).
import { useState } from 'preact/hooks';
import { appPath, del, post } from '../api';
import { appNamespace } from '../validate';
import { announce, listKey, loadApps, loadList, useList } from '../store';
import type { NamespaceItem } from '../types';
import { Badge, Confirm, Dialog, Empty, ErrorBox, Field, Managed, useSubmit } from '../ui';
import { ListBody, PageHead, PermsError, RoleNotice, type PageProps } from './common';

function nsHealth(n: NamespaceItem) {
  if (!n.exists)
    return { label: 'Not created yet', tone: 'busy' as const, message: null, next: 'The operator creates it within moments.' };
  if (n.phase === 'Terminating') return { label: 'Terminating', tone: 'warn' as const, message: null, next: null };
  return { label: n.phase || 'Active', tone: 'ok' as const, message: null, next: null };
}

export function Namespaces({ app, perms, permsError }: PageProps) {
  const key = listKey(app.name, 'namespaces');
  const list = useList<NamespaceItem>(key);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<string | null>(null);
  const canEdit = !!perms?.namespaces.edit;
  const refresh = () => {
    void loadList(key);
    void loadApps();
  };
  const rm = useSubmit(
    () => del(appPath(app.name, `namespaces/${encodeURIComponent(removing!)}`)),
    () => {
      announce(`Namespace ${removing} removed from ${app.name}`);
      setRemoving(null);
      refresh();
    },
  );
  const items = [...list.items].sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === 'platform' ? -1 : 1));
  return (
    <section class="page">
      <PageHead
        title="Namespaces"
        intro={
          <>
            The namespaces of {app.name}. The operator creates each one with the app’s labels and RBAC bindings; {app.platformNamespace} is
            the operator’s own.
          </>
        }
        actions={
          canEdit && (
            <button type="button" class="btn primary" onClick={() => setAdding(true)}>
              Add namespace
            </button>
          )
        }
      />
      <PermsError error={permsError} />
      {perms && !canEdit && (
        <RoleNotice perms={perms} app={app} what="its namespaces" needs="Adding and removing namespaces needs the admin role." />
      )}
      <ListBody list={list} listKey={key} what="namespaces" empty={<Empty title="No namespaces" />}>
        {() => (
          <ul class="cards" aria-label="Namespaces">
            {items.map((n) => (
              <li class="card" key={n.name} data-name={n.name}>
                <div class="card-head">
                  <h2 class="card-title">{n.name}</h2>
                  {n.managed && <Managed />}
                  <span class="badge role">{n.role === 'platform' ? 'platform' : 'app'}</span>
                  <Badge health={nsHealth(n)} />
                  <div class="card-actions">
                    {canEdit && n.role !== 'platform' && (
                      <button
                        type="button"
                        class="btn small danger-ghost"
                        onClick={() => {
                          rm.setError(null);
                          setRemoving(n.name);
                        }}
                        aria-label={`Remove namespace ${n.name}`}
                      >
                        Remove
                      </button>
                    )}
                  </div>
                </div>
                {n.role === 'platform' && (
                  <p class="muted small">Holds the app’s secret intents, OIDC clients and Flux objects; managed by the operator.</p>
                )}
              </li>
            ))}
          </ul>
        )}
      </ListBody>
      {adding && <AddNamespace app={app.name} existing={list.items.map((n) => n.name)} onClose={() => setAdding(false)} onDone={refresh} />}
      {removing && (
        <Confirm
          title={`Remove ${removing} from ${app.name}?`}
          action="Remove"
          busy={rm.busy}
          error={rm.error}
          onConfirm={() => void rm.submit()}
          onClose={() => setRemoving(null)}
        >
          <p>
            The operator removes the app’s RBAC bindings from {removing}. <strong>The Kubernetes namespace itself is not deleted</strong>, nor
            what runs in it; secrets that target it are no longer applied there.
          </p>
        </Confirm>
      )}
    </section>
  );
}

function AddNamespace({ app, existing, onClose, onDone }: { app: string; existing: string[]; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(`${app}-`);
  const [tried, setTried] = useState(false);
  const err = appNamespace(app, name, existing);
  const showErr = tried || name !== `${app}-` ? err : null;
  const { busy, error, submit } = useSubmit(
    () => post(appPath(app, 'namespaces'), { name }),
    () => {
      announce(`Namespace ${name} added to ${app}`);
      onDone();
      onClose();
    },
  );
  return (
    <Dialog title="Add namespace" onClose={onClose}>
      <form
        class="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          if (!err) void submit();
        }}
      >
        <Field
          id="ns-name"
          label="Namespace name"
          error={showErr}
          hint={`Must start with '${app}-', e.g. ${app}-qa. The operator creates it with the app’s labels and RBAC.`}
        >
          {(a) => (
            <input
              {...a}
              type="text"
              value={name}
              autoComplete="off"
              spellcheck={false}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          )}
        </Field>
        {error && <ErrorBox error={error} what="The namespace was not added" />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
