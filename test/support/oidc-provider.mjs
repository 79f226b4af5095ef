// A real OpenID Connect provider (the certified `oidc-provider` package) on 127.0.0.1, for the console's sign-in
// tests. Run as its own process (the package is an ES module): `node oidc-provider.mjs <port> <redirect uri>`.
// Prints `ready <issuer>` once it listens. Any password signs in; the accounts' roles are below.
import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

/** login → claims. */
const ACCOUNTS = {
  ada: { name: 'Ada Operator', roles: ['operator'] },
  vic: { name: 'Vic Viewer', roles: ['viewer'] },
  nob: { name: 'Nobody', roles: [] },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'console',
      client_secret: 'console-secret-for-tests',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: { openid: ['sub'], profile: ['name', 'roles'] },
  // The roles go into the ID token itself (the console reads no userinfo).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  findAccount: (_ctx, id) => {
    // `long-…` logins are operators whose subject is the whole login (OpenID Connect allows 255 characters).
    const account = id.startsWith('long-') ? { name: 'Long Subject', roles: ['operator'] } : ACCOUNTS[id];
    return account ? { accountId: id, claims: () => ({ sub: id, ...account }) } : undefined;
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-cookie-key-not-secret'] },
});
// Every connection ends with its response: no idle keep-alive socket of a test's fetch outlives the test.
provider.use(async (ctx, next) => {
  ctx.set('Connection', 'close');
  await next();
});
// The dev interactions sign in any login; only known accounts get claims.
provider.listen(Number(port), '127.0.0.1', () => process.stdout.write(`ready ${issuer}\n`));
