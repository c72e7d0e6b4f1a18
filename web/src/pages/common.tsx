// pages/common.tsx - what the app pages share: the page header, the role notice, list states.
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';
import { loadList, type ListState } from '../store';
import type { AppItem, Permissions } from '../types';
import { Empty, ErrorBox, Loading, Notice } from '../ui';

export interface PageProps {
  app: AppItem;
  perms: Permissions | undefined;
  permsError: ApiError | null;
}

export function PageHead({ title, intro, actions }: { title: string; intro: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <div class="page-head">
      <div>
        <h1 tabIndex={-1}>{title}</h1>
        <p class="intro">{intro}</p>
      </div>
      {actions && <div class="page-actions">{actions}</div>}
    </div>
  );
}

export const roleWord = (p: Permissions | undefined, app: AppItem) => {
  const r = p?.role || app.role;
  return r === 'none' ? 'no role' : `the ${r} role`;
};

export function RoleNotice({ perms, app, what, needs }: { perms: Permissions | undefined; app: AppItem; what: string; needs: string }) {
  return (
    <Notice>
      You have {roleWord(perms, app)} in {app.name}: you can view {what} but not change them. {needs}
    </Notice>
  );
}

export function PermsError({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return <ErrorBox error={error} what="Your permissions could not be checked, so no changes are offered" />;
}

export function ListBody<T>({
  list,
  listKey,
  what,
  empty,
  children,
}: {
  list: ListState<T>;
  listKey: string;
  what: string;
  empty: ComponentChildren;
  children: (items: T[]) => ComponentChildren;
}) {
  if (list.error && !list.items.length)
    return <ErrorBox error={list.error} what={`The ${what} could not be loaded`} onRetry={() => void loadList(listKey)} />;
  if (!list.loaded) return <Loading what={what} />;
  if (!list.items.length) return <>{empty}</>;
  return <>{children(list.items)}</>;
}

export { Empty };
