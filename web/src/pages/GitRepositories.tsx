// pages/GitRepositories.tsx - Flux GitRepository sources in the app's namespaces: status, revision, and
// a create form (namespace, name, SSH/HTTPS URL, branch, interval, the deploy-key Secret).
import { useState } from 'preact/hooks';
import { appPath, post } from '../api';
import { gitRepoErrors, gitRepoRequest, hasErrors, newGitRepoForm, type GitRepoForm } from '../forms';
import { refText, shortRevision } from '../status';
import { announce, listKey, upsert, useList } from '../store';
import type { AppItem, GitRepository } from '../types';
import { Dialog, Empty, ErrorBox, Field, useSubmit } from '../ui';
import { ListBody, PageHead, PermsError, type PageProps } from './common';
import { FluxCard, FluxNotice, creatableNamespaces } from './flux';

export function GitRepositories({ app, perms, permsError }: PageProps) {
  const key = listKey(app.name, 'gitrepositories');
  const list = useList<GitRepository>(key);
  const [creating, setCreating] = useState(false);
  const nss = creatableNamespaces(perms, 'gitrepositories', app.namespaces);
  const items = [...list.items].sort((a, b) => Number(b.managed) - Number(a.managed) || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return (
    <section class="page">
      <PageHead
        title="Git Repositories"
        intro={<>Sources Flux watches for {app.name}. Point one at your app repo, then create a Kustomization that applies a path from it.</>}
        actions={
          nss.length > 0 && (
            <button type="button" class="btn primary" onClick={() => setCreating(true)}>
              Create GitRepository
            </button>
          )
        }
      />
      <PermsError error={permsError} />
      <FluxNotice perms={perms} kind="gitrepositories" app={app.name} namespaces={app.namespaces} />
      <ListBody
        list={list}
        listKey={key}
        what="Git repositories"
        empty={
          <Empty title="No GitRepositories yet">
            <p>Create one for your app repo’s SSH URL; Flux’s source-controller then fetches it at every interval.</p>
          </Empty>
        }
      >
        {() => (
          <ul class="cards" aria-label="Git repositories">
            {items.map((g) => (
              <FluxCard key={`${g.namespace}/${g.name}`} o={g} kind="gitrepositories" app={app.name} perms={perms}>
                <dt>URL</dt>
                <dd>
                  <code class="wrap">{g.url}</code>
                </dd>
                <dt>Ref</dt>
                <dd>{refText(g.ref)}</dd>
                <dt>Revision</dt>
                <dd>{g.revision ? <code title={g.revision}>{shortRevision(g.revision)}</code> : <span class="muted">none fetched yet</span>}</dd>
                {g.secretRef && (
                  <>
                    <dt>Credentials</dt>
                    <dd>
                      Secret <code>{g.secretRef.name}</code>
                    </dd>
                  </>
                )}
                {g.suspended && (
                  <>
                    <dt>Suspended</dt>
                    <dd>yes</dd>
                  </>
                )}
              </FluxCard>
            ))}
          </ul>
        )}
      </ListBody>
      {creating && <CreateGitRepo app={app} namespaces={nss} existing={list.items} onClose={() => setCreating(false)} />}
    </section>
  );
}

function CreateGitRepo({ app, namespaces, existing, onClose }: { app: AppItem; namespaces: string[]; existing: GitRepository[]; onClose: () => void }) {
  const [f, setF] = useState<GitRepoForm>(newGitRepoForm(namespaces[0]));
  const [tried, setTried] = useState(false);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const errors = gitRepoErrors(f, { namespaces, existing });
  const show = (k: keyof GitRepoForm) => (tried || touched[k] || f[k] ? errors[k] : undefined);
  const set = (p: Partial<GitRepoForm>) => setF((x) => ({ ...x, ...p }));
  const { busy, error, submit } = useSubmit(
    () => post<GitRepository>(appPath(app.name, 'gitrepositories'), gitRepoRequest(f)),
    (g) => {
      upsert(listKey(app.name, 'gitrepositories'), g);
      announce(`GitRepository ${g.name} created`);
      onClose();
    },
  );
  const text = (k: 'name' | 'url' | 'branch' | 'interval' | 'secretRef', label: string, hint: string, placeholder?: string) => (
    <Field id={`gr-${k}`} label={label} error={show(k)} hint={hint}>
      {(a) => (
        <input
          {...a}
          type="text"
          value={f[k]}
          placeholder={placeholder}
          autoComplete="off"
          spellcheck={false}
          onInput={(e) => set({ [k]: (e.target as HTMLInputElement).value })}
          onBlur={() => setTouched((t) => ({ ...t, [k]: true }))}
        />
      )}
    </Field>
  );
  return (
    <Dialog title="Create GitRepository" onClose={onClose} wide>
      <form
        class="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          if (hasErrors(errors)) (e.target as HTMLFormElement).querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
          else void submit();
        }}
      >
        <Field id="gr-namespace" label="Namespace" error={errors.namespace} hint="Flux objects of an app live in its namespaces.">
          {(a) => (
            <select {...a} value={f.namespace} onChange={(e) => set({ namespace: (e.target as HTMLSelectElement).value })}>
              {namespaces.map((ns) => (
                <option key={ns} value={ns}>
                  {ns}
                </option>
              ))}
            </select>
          )}
        </Field>
        {text('name', 'Name', "Lowercase letters, digits and '-'.", 'app')}
        {text('url', 'Repository URL', 'Your app repo’s SSH URL, e.g. ssh://git@github.com/org/apps.my-app.git (or https://).', 'ssh://git@github.com/org/repo.git')}
        {text('branch', 'Branch', 'The branch Flux follows.')}
        {text('interval', 'Interval', 'How often Flux fetches it: 30s, 1m, 5m…')}
        {text('secretRef', 'Credentials Secret', 'A Secret in the same namespace with the deploy key (identity, known_hosts); needed for SSH.', 'app-deploy-key')}
        {error && <ErrorBox error={error} what="The GitRepository was not created" />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
