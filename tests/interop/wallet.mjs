// An independent OpenID4VCI 1.0 wallet (the @openid4vc/openid4vci client library) taking one
// credential from metrobadge: resolves the offer, reads the issuer and authorisation-server
// metadata, redeems the pre-authorised code with the transaction code, fetches a nonce, proves
// possession of a fresh Ed25519 key, and prints what it received as one JSON line.
// Usage: node wallet.mjs <offer-url> <tx-code> [--no-proof]
import {createHash, randomBytes} from 'node:crypto';
import {Openid4vciClient, setGlobalConfig} from '@openid4vc/openid4vci';
import {clientAuthenticationAnonymous} from '@openid4vc/oauth2';
import * as jose from 'jose';

// The test service listens on http://127.0.0.1 (production base URLs are https).
setGlobalConfig({allowInsecureUrls: true});

const [offerUrl, txCode, flag] = process.argv.slice(2);
const {publicKey, privateKey} = await jose.generateKeyPair('EdDSA', {crv: 'Ed25519'});
const publicJwk = await jose.exportJWK(publicKey);

const callbacks = {
  fetch,
  hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  clientAuthentication: clientAuthenticationAnonymous(),
  signJwt: async (signer, {header, payload}) => {
    const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(privateKey);
    return {jwt, signerJwk: publicJwk};
  },
};

const client = new Openid4vciClient({callbacks});
const offer = await client.resolveCredentialOffer(offerUrl);
const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
const {accessTokenResponse} = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer: offer, issuerMetadata, txCode,
});
const credentialConfigurationId = offer.credential_configuration_ids[0];
let proofs;
if (flag !== '--no-proof') {
  const {c_nonce} = await client.requestNonce({issuerMetadata});
  const {jwt} = await client.createCredentialRequestJwtProof({
    issuerMetadata, credentialConfigurationId, nonce: c_nonce,
    signer: {method: 'jwk', alg: 'EdDSA', publicJwk},
  });
  proofs = {jwt: [jwt]};
}
const result = await client.retrieveCredentials({
  issuerMetadata, credentialConfigurationId, accessToken: accessTokenResponse.access_token, proofs,
});
console.log(JSON.stringify({
  jwk: publicJwk,
  format: issuerMetadata.credentialIssuer.credential_configurations_supported[credentialConfigurationId].format,
  response: result.credentialResponse,
}));
