// A real OpenID Provider (the npm package oidc-provider) for the Offerdesk tests, on loopback.
//
// Environment:
//   OIDC_TEST_PORT      the port on 127.0.0.1 (the issuer is http://127.0.0.1:<port>)
//   OIDC_TEST_CLIENTS   JSON list of clients: {client_id, client_secret, redirect_uris,
//                       post_logout_redirect_uris}
//   OIDC_TEST_ACCOUNTS  path of a JSON file {subject: claims}; read again at each sign-in, so a
//                       test changes a user's claims by rewriting it. The login typed in the
//                       sign-in form is the subject; one missing from the file cannot sign in.
//
// Sign-in uses oidc-provider's devInteractions (a form with "login" and "password"; the
// password is not checked). Consent is granted without asking: Offerdesk is a first-party client.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_TEST_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_TEST_CLIENTS);
const accountsFile = process.env.OIDC_TEST_ACCOUNTS;

function readAccounts() {
  return JSON.parse(readFileSync(accountsFile, 'utf8'));
}

function findClaims(sub) {
  return readAccounts()[sub];
}

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });

const configuration = {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [{ ...signingKey, kid: 'offerdesk-tests', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: ['offerdesk-test-provider-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // The claims of the granted scopes go into the ID token itself, where Offerdesk reads them.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    // The login typed in the form is the account's subject (oidc-provider makes it the sub).
    if (!findClaims(id)) return undefined;
    return { accountId: id, async claims() { return { ...findClaims(id), sub: id } } };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
    await grant.save();
    return grant;
  },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Session: 3600, Interaction: 600, Grant: 3600 },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, error) => console.error('server_error', error));
const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
