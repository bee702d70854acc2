// Validates OpenAPI documents with an independent validator (@seriousme/openapi-schema-validator,
// which checks against the official OpenAPI 3.0/3.1 JSON Schemas).
// Usage: node openapi_check.mjs INPUT.json — INPUT: {"documents": {name: document}}; prints one
// JSON line per document: {"name", "valid", "version", "errors"}.
import {readFileSync} from 'node:fs';
import {Validator} from '@seriousme/openapi-schema-validator';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const [name, document] of Object.entries(input.documents)) {
  const validator = new Validator();
  const result = await validator.validate(document);
  console.log(JSON.stringify({name, valid: result.valid, version: validator.version, errors: result.errors ?? []}));
}
