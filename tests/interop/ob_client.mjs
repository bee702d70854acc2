// An Open Badges 3.0 API client built on oauth4webapi (an independent OAuth 2.0 library from
// npm), with the learner's consent given in Debian's headless Chromium (playwright-core): it
// reads the service description document, registers itself dynamically, sends the learner to
// the authorization page (PKCE S256, state), exchanges the code, pages through the learner's
// credentials, reads the profile, refreshes with a narrower scope, and tries what must fail.
// CSP is enforced in the flow's browser context (the consent form redirects to the app); axe
// checks the consent page in a second context.
// Usage: node ob_client.mjs INPUT.json — prints one JSON report.
// INPUT: {"base", "session", "redirect_uri", "artifacts"}
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import * as oauth from 'oauth4webapi';
import {chromium} from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const {base, redirect_uri: redirect} = input;
const CRED = 'https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly';
const PROFILE = 'https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly';
const insecure = {[oauth.allowInsecureRequests]: true};
const report = {};

// What an OAuth error response says, as the library reports it.
const oauthError = async promise => {
  try {
    await promise;
    return 'no error';
  } catch (e) {
    return e.error ?? e.cause?.error ?? e.code ?? String(e);
  }
};

// The service description document names the endpoints; RFC 8414 metadata adds revocation.
const sdd = await (await fetch(`${base}/ims/ob/v3p0/discovery`)).json();
const acg = sdd.components.securitySchemes.OAuth2ACG;
const meta = await oauth.processDiscoveryResponse(
  new URL(base),
  await oauth.discoveryRequest(new URL(base), {algorithm: 'oauth2', ...insecure}),
);
const as = {
  ...meta,
  authorization_endpoint: acg.flows.authorizationCode.authorizationUrl,
  token_endpoint: acg.flows.authorizationCode.tokenUrl,
  registration_endpoint: acg['x-imssf-registrationUrl'],
};
report.discovery = {
  privacy: sdd.info['x-imssf-privacyPolicyUrl'],
  same_token_endpoint: meta.token_endpoint === as.token_endpoint,
  same_registration: meta.registration_endpoint === as.registration_endpoint,
};

const client = await oauth.processDynamicClientRegistrationResponse(
  await oauth.dynamicClientRegistrationRequest(as, {
    client_name: 'Test Backpack',
    client_uri: 'https://app.example.test/',
    logo_uri: 'https://app.example.test/logo.png',
    tos_uri: 'https://app.example.test/terms',
    policy_uri: 'https://app.example.test/privacy',
    software_id: 'metrobadge-test-backpack',
    software_version: '1.0.0',
    redirect_uris: [redirect],
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: `${CRED} ${PROFILE} offline_access`,
  }, insecure),
);
report.registered = {scope: client.scope, has_secret: typeof client.client_secret === 'string'};
const auth = oauth.ClientSecretBasic(client.client_secret);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const cookie = [{name: 'mb_learner', value: input.session, url: `${base}/me`}];
  const context = await browser.newContext({viewport: {width: 360, height: 780}, locale: 'en-GB'});
  await context.addCookies(cookie);
  // The app's callback: the browser is sent there (the address does not resolve; the request
  // the browser makes is what the app would receive).

  // One authorization round in the browser: the learner presses Allow or Don't allow.
  const authorize = async (scope, decision) => {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', client.client_id);
    url.searchParams.set('redirect_uri', redirect);
    url.searchParams.set('scope', scope);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    // A fresh tab each round: the last one is left on the unreachable callback.
    const page = await context.newPage();
    await page.goto(url.href);
    const text = await page.textContent('main');
    const [request] = await Promise.all([
      context.waitForEvent('request', r => r.url().startsWith(redirect)),
      page.click(`button[value=${decision}]`),
    ]);
    await page.close();
    return {verifier, state, text, callback: new URL(request.url())};
  };

  // 1. Consent with every scope; the code is exchanged (a wrong verifier first).
  const a = await authorize(`${CRED} ${PROFILE} offline_access`, 'allow');
  report.consent_text = a.text;
  const params = oauth.validateAuthResponse(as, client, a.callback, a.state);
  report.wrong_verifier = await oauthError(
    oauth.processAuthorizationCodeResponse(
      as, client,
      await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirect, oauth.generateRandomCodeVerifier(), insecure),
    ),
  );
  const tokens = await oauth.processAuthorizationCodeResponse(
    as, client, await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirect, a.verifier, insecure),
  );
  report.token = {scope: tokens.scope, expires_in: tokens.expires_in, refresh: typeof tokens.refresh_token === 'string'};

  // 2. Paged reads: limit 2, then the `next` link.
  // The library raises a bearer challenge (401, 403) as an error that carries the response.
  const read = async (token, path) => {
    const r = await oauth
      .protectedResourceRequest(token, 'GET', new URL(path, base), undefined, undefined, insecure)
      .catch(e => {
        if (e instanceof oauth.WWWAuthenticateChallengeError) return e.response;
        throw e;
      });
    return {status: r.status, total: r.headers.get('x-total-count'), link: r.headers.get('link'), body: await r.json().catch(() => null)};
  };
  const first = await read(tokens.access_token, '/ims/ob/v3p0/credentials?limit=2');
  const next = /<([^>]+)>; rel="next"/.exec(first.link ?? '')?.[1];
  const second = next ? await read(tokens.access_token, next) : null;
  report.pages = {first, second};
  report.profile = await read(tokens.access_token, '/ims/ob/v3p0/profile');

  // 3. Refresh to a profile-only token: the credentials are forbidden to it.
  const narrow = await oauth.processRefreshTokenResponse(
    as, client,
    await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, {additionalParameters: {scope: PROFILE}, ...insecure}),
  );
  report.narrow = {
    scope: narrow.scope,
    credentials: await read(narrow.access_token, '/ims/ob/v3p0/credentials'),
    profile: (await read(narrow.access_token, '/ims/ob/v3p0/profile')).status,
  };
  // The rotated refresh token again: refused, and the grant ends.
  report.old_refresh = await oauthError(
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, insecure)),
  );
  report.after_reuse = (await read(narrow.access_token, '/ims/ob/v3p0/profile')).status;

  // 4. A code presented twice: refused, and the first exchange's token stops working.
  const b = await authorize(CRED, 'allow');
  const bParams = oauth.validateAuthResponse(as, client, b.callback, b.state);
  const bTokens = await oauth.processAuthorizationCodeResponse(
    as, client, await oauth.authorizationCodeGrantRequest(as, client, auth, bParams, redirect, b.verifier, insecure),
  );
  report.code_replay = await oauthError(
    oauth.processAuthorizationCodeResponse(
      as, client, await oauth.authorizationCodeGrantRequest(as, client, auth, bParams, redirect, b.verifier, insecure),
    ),
  );
  report.after_replay = (await read(bTokens.access_token, '/ims/ob/v3p0/credentials')).status;

  // 5. Revocation (RFC 7009) of an access token.
  const c = await authorize(CRED, 'allow');
  const cTokens = await oauth.processAuthorizationCodeResponse(
    as, client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, oauth.validateAuthResponse(as, client, c.callback, c.state), redirect, c.verifier, insecure),
  );
  const before = (await read(cTokens.access_token, '/ims/ob/v3p0/credentials')).status;
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, cTokens.access_token, insecure));
  report.revocation = {before, after: (await read(cTokens.access_token, '/ims/ob/v3p0/credentials')).status};

  // 6. The learner says no.
  const d = await authorize(CRED, 'deny');
  report.denied = await oauthError(Promise.resolve().then(() => oauth.validateAuthResponse(as, client, d.callback, d.state)));

  // The consent page for people: axe (WCAG 2.1 A/AA) and nothing wider than a phone.
  const auditing = await browser.newContext({viewport: {width: 360, height: 780}, locale: 'nl-NL', bypassCSP: true});
  await auditing.addCookies(cookie);
  const view = await auditing.newPage();
  const url = new URL(as.authorization_endpoint);
  for (const [k, v] of Object.entries({response_type: 'code', client_id: client.client_id, redirect_uri: redirect, scope: CRED,
    state: 'x', code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: 'S256'})) {
    url.searchParams.set(k, v);
  }
  await view.goto(url.href);
  await view.addScriptTag({content: axeSource});
  report.axe = await view.evaluate(async () => {
    const r = await window.axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
    return r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}));
  });
  report.overflow = await view.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  report.dutch = await view.textContent('main');
  await view.screenshot({path: `${input.artifacts}/ob-consent.png`, fullPage: true});
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
