// Signs credentials with the reference JavaScript stack, as another issuer would: a did:key
// Ed25519 key from a seed, eddsa-rdfc-2022 Data Integrity proofs, VCDM 1.1 or 2.0 as each
// credential's first context says. Offline: the contexts come from the npm packages.
// Usage: node sign.mjs INPUT.json — INPUT: {"seed": "<64 hex>", "credentials": [unsigned…]};
// an issuer (or issuer.id) of "ISSUER" becomes the key's controller.
// Prints {"did", "verificationMethod", "credentials": [signed…]}.
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {documentLoader} from './loader.mjs';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const seed = Uint8Array.from(Buffer.from(input.seed, 'hex'));
const probe = await Ed25519Multikey.generate({seed});
const did = input.controller || `did:key:${probe.publicKeyMultibase}`;
const id = input.verificationMethod || `${did}#${probe.publicKeyMultibase}`;
const key = await Ed25519Multikey.generate({seed, id, controller: did});
const signer = key.signer();
const out = [];
for (const credential of input.credentials) {
  const suite = new DataIntegrityProof({signer, cryptosuite: eddsaRdfc2022});
  const c = structuredClone(credential);
  if (c.issuer === 'ISSUER') c.issuer = did;
  if (c.issuer?.id === 'ISSUER') c.issuer.id = did;
  out.push(await vc.issue({credential: c, suite, documentLoader: documentLoader()}));
}
console.log(JSON.stringify({did, verificationMethod: id, publicKeyMultibase: key.publicKeyMultibase, credentials: out}));
