// idp.mjs - the dashboard tests' OIDC provider: panva's oidc-provider (OpenID Certified) set up the way
// Authelia 4.39 behaves: groups/preferred_username/email only from userinfo (conformIdTokenClaims), a
// confidential client using client_secret_basic whose secret needs form-URL-encoding, PKCE S256 required,
// refresh tokens rotated on every use, RP-initiated logout. The users and their groups are fixed (below).
//
//   node idp.mjs                 environment: IDP_PORT (0 = any), IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_USERS,
//                                IDP_REDIRECT_URIS, IDP_POST_LOGOUT_URIS (comma-separated),
//                                IDP_ACCESS_TTL (seconds, default 600)
// prints "ready <issuer>" once it listens; stops on SIGTERM/SIGINT.
import { Provider } from 'oidc-provider';

// Passwords are checked (unlike devInteractions' default), so a test can also see a wrong one refused.
export const USERS = {
  alice: { password: 'alice-pw', groups: ['app-a-admins'], name: 'Alice Admin' },
  bob: { password: 'bob-pw', groups: ['app-a-developers'], name: 'Bob Developer' },
  carol: { password: 'carol-pw', groups: ['app-a-readers'], name: 'Carol Reader' },
  dave: { password: 'dave-pw', groups: ['app-b-admins', 'app-b-developers'], name: 'Dave B-Admin' },
  erin: { password: 'erin-pw', groups: ['platform-admins'], name: 'Erin Platform' },
  // a hostile directory entry: the dashboard must never pass these groups on unprefixed
  mallory: { password: 'mallory-pw', groups: ['system:masters', 'app-a-readers'], name: 'Mallory' },
};

const env = process.env;
// IDP_USERS (JSON, same shape as USERS) replaces the fixed users: tools/demo/run gives its demo app's groups.
if (env.IDP_USERS) {
  for (const k of Object.keys(USERS)) delete USERS[k];
  Object.assign(USERS, JSON.parse(env.IDP_USERS));
}
const port = Number(env.IDP_PORT || 0);
const clientId = env.IDP_CLIENT_ID || 'app-platform-dashboard';
// '+', '/', '%' and ':' make a raw (not form-encoded) Basic credential fail, as with Authelia
const clientSecret = env.IDP_CLIENT_SECRET || 'dash+secret/with%odd:chars';
const redirectUris = (env.IDP_REDIRECT_URIS || 'http://127.0.0.1:8080/auth/callback').split(',');
const postLogout = (env.IDP_POST_LOGOUT_URIS || 'http://127.0.0.1:8080/').split(',');
const accessTtl = Number(env.IDP_ACCESS_TTL || 600);

function account(sub) {
  const u = USERS[sub];
  if (!u) return undefined;
  return {
    accountId: sub,
    async claims() {
      return { sub, preferred_username: sub, name: u.name, email: `${sub}@example.test`, email_verified: true, groups: u.groups };
    },
  };
}

const server = await new Promise((resolve) => {
  import('node:http').then(({ createServer }) => {
    const s = createServer();
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogout,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  findAccount: async (_ctx, sub) => account(sub),
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  conformIdTokenClaims: true,
  pkce: { required: () => true },
  // Authelia issues a refresh token to a client allowed the grant when offline_access is asked for, without
  // the prompt=consent OIDC Core demands; oidc-provider would drop offline_access without that prompt.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: { AccessToken: accessTtl, IdToken: accessTtl, RefreshToken: 86400, Session: 86400, Interaction: 600, Grant: 86400 },
  cookies: { keys: ['test-idp-cookie-key-not-secret'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
});

// devInteractions accepts any login: check the password against USERS first.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path.startsWith('/interaction/')) {
    const chunks = [];
    for await (const c of ctx.req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString();
    const form = new URLSearchParams(raw);
    if (form.get('prompt') === 'login') {
      const u = USERS[form.get('login')];
      if (!u || u.password !== form.get('password')) {
        ctx.status = 401;
        ctx.body = 'invalid username or password';
        return;
      }
    }
    // oidc-provider reads an already consumed body from req.body (selective_body.js)
    ctx.req.body = raw;
  }
  await next();
});

// IDP_LOG=1: one line per token grant, so a test can count refreshes
if (env.IDP_LOG) provider.on('grant.success', (ctx) => console.log(`grant ${ctx.oidc.params.grant_type}`));

server.on('request', provider.callback());
console.log(`ready ${issuer}`);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
