// Verifies credentials issued by metrobadge with the reference JavaScript stack, offline.
// Usage: node verify.mjs INPUT.json  — prints one JSON result per case to stdout.
// INPUT: {"documents": {URL: doc}, "cases": [{"name", "credential"} | {"name", "jwt", "jwks"}]}
// Contexts come from the npm context packages (not from metrobadge); the issuer documents are
// the ones metrobadge served, passed in by the Rust test. Nothing is fetched from the network.
import {readFileSync} from 'node:fs';
import {gunzipSync} from 'node:zlib';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as jose from 'jose';
import {documentLoader as offlineLoader} from './loader.mjs';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const documentLoader = offlineLoader(input.documents);

// Status: read the lists passed in (revocation at the entry's URL, suspension at URL + "/suspension",
// the service's convention); a list not passed in is not checked.
const checkStatus = async ({credential}) => {
  const entry = credential.credentialStatus;
  if (!entry) return {verified: true};
  const checks = [[entry.statusListCredential, 'revoked'], [entry.statusListCredential + '/suspension', 'suspended']];
  for (const [url, label] of checks) {
    const list = input.documents[url];
    if (!list) continue;
    const bits = gunzipSync(Buffer.from(list.credentialSubject.encodedList.slice(1), 'base64url'));
    const i = Number(entry.statusListIndex);
    if (bits[i >> 3] & (0x80 >> (i & 7))) return {verified: false, error: new Error(label)};
  }
  return {verified: true};
};

for (const c of input.cases) {
  let result;
  try {
    if (c.credential) {
      const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
      // `now`: the moment to judge validity at (tests that move the service's clock forward).
      const now = c.now ? new Date(c.now) : undefined;
      const r = await vc.verifyCredential({credential: c.credential, suite, documentLoader, checkStatus, now});
      const errors = [r.error, ...(r.results || []).map(x => x.error)].filter(Boolean).map(e => e.message || String(e));
      result = {name: c.name, verified: r.verified === true, errors};
    } else {
      const jwk = c.jwks.keys.find(k => k.kid === jose.decodeProtectedHeader(c.jwt).kid);
      if (!jwk) throw new Error('kid not in the JWK Set');
      const key = await jose.importJWK(jwk, jwk.alg || 'EdDSA');
      const {payload} = await jose.jwtVerify(c.jwt, key, {typ: 'JWT', currentDate: c.now ? new Date(c.now) : undefined});
      // OB 3.0: the registered claims must agree with the credential they carry.
      const issuer = typeof payload.issuer === 'string' ? payload.issuer : payload.issuer?.id;
      const agree = payload.jti === payload.id && payload.iss === issuer &&
        (c.expect_jti === undefined || payload.jti === c.expect_jti) && (c.expect_iss === undefined || payload.iss === c.expect_iss);
      result = {name: c.name, verified: agree, errors: agree ? [] : ['claims disagree with the credential']};
    }
  } catch (e) {
    result = {name: c.name, verified: false, errors: [e.message || String(e)]};
  }
  console.log(JSON.stringify(result));
}
