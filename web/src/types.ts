// types.ts - the JSON shapes of the dashboard API (README "Dashboard" > "API"), as the server sends them.

export interface Condition {
  type: string | null;
  status: 'True' | 'False' | 'Unknown' | string | null;
  reason: string | null;
  message: string | null;
  lastTransitionTime: string | null;
}

export interface Ready {
  status: 'True' | 'False' | 'Unknown' | string;
  reason: string | null;
  message: string | null;
  lastTransitionTime?: string | null;
}

export interface Session {
  user: { name: string; sub: string; groups: string[] };
  platformAdmin: boolean;
  csrfToken: string;
  impersonation?: { user: string; groups: string[] };
}

export type Role = 'admin' | 'developer' | 'reader' | 'none' | string;

export interface AppItem {
  name: string;
  role: Role;
  platformNamespace: string;
  namespaces: string[];
  ready: Ready | null;
}

export interface Verbs {
  create: boolean;
  delete: boolean;
  patch: boolean;
}

export interface Permissions {
  app?: string;
  role: Role;
  platformAdmin: boolean;
  secrets: { create: boolean; update: boolean; delete: boolean };
  gitrepositories: Record<string, Verbs>;
  kustomizations: Record<string, Verbs>;
  namespaces: { edit: boolean };
  registrations: { edit: boolean };
}

export interface Base {
  name: string;
  namespace: string | null;
  resourceVersion?: string | null;
  createdAt?: string | null;
}

export interface AccessEntry {
  group: string;
  role: 'admin' | 'developer' | 'reader' | string;
}

export interface Repository {
  provider?: string;
  owner?: string;
  name?: string;
}

export interface Registration extends Base {
  managed?: boolean;
  namespaces: string[];
  access: AccessEntry[];
  repository: Repository | null;
  deletionPolicy: string;
  generation?: number | null;
  status: {
    observedGeneration: number | null;
    platformNamespace: string | null;
    repositoryURL: string | null;
    agePublicKey: string | null;
  };
  ready: Ready;
  conditions: Condition[];
}

export interface NamespaceItem {
  name: string;
  role: 'platform' | 'app' | string;
  exists: boolean;
  managed: boolean;
  phase: string | null;
}

export type SecretStatus = 'Pending' | 'Committed' | 'Applied' | 'Deleting' | 'Error' | string;

export interface SecretItem extends Base {
  targetNamespaces: string[];
  targetName: string;
  keys: string[];
  status: SecretStatus;
  targets: { namespace: string; status: SecretStatus }[];
  commit: string | null;
  lastError: string | null;
  requestedBy: string | null;
}

export interface OidcClient extends Base {
  clientId: string | null;
  hostname: string | null;
  callbackPath: string;
  callbackURL: string | null;
  issuer: string | null;
  status: string;
  lastError: string | null;
}

export interface FluxCommon extends Base {
  managed: boolean;
  interval: string | null;
  suspended: boolean;
  ready: Ready;
  conditions: Condition[];
  reconcileRequestedAt: string | null;
  lastHandledReconcileAt: string | null;
}

export interface GitRepository extends FluxCommon {
  url: string | null;
  ref: Record<string, string> | null;
  secretRef: { name: string } | null;
  revision: string | null;
}

export interface Kustomization extends FluxCommon {
  sourceRef: { kind?: string; name: string; namespace?: string } | null;
  path: string | null;
  prune: boolean;
  targetNamespace: string | null;
  dependsOn: { name: string; namespace?: string }[];
  postBuild: { substitute: Record<string, string> };
  lastAppliedRevision: string | null;
  lastAttemptedRevision: string | null;
}

export type Kind = 'secrets' | 'namespaces' | 'gitrepositories' | 'kustomizations' | 'oidcclients';

export interface ApiErrorBody {
  error: { status: number; code?: string; message: string; causes?: { field?: string; message?: string }[] };
  login?: string;
}
