// Validates an OpenAPI document with @apidevtools/swagger-parser (pinned in package.json and
// package-lock.json; tests/openapi/validate.sh installs it into the build folder):
// the document against the OpenAPI 3.1 schema, every $ref resolved, and the specification's
// own rules (unique operationIds, path parameters). Negative controls follow: the same document
// broken in two ways (an answer without its description, a dangling $ref) must be refused, so a
// validator that accepts anything cannot pass the test.
// Usage: node validate.js DOCUMENT.yaml
'use strict';
const SwaggerParser = require('@apidevtools/swagger-parser');

async function main() {
  const path = process.argv[2];
  if (!path) throw new Error('usage: node validate.js DOCUMENT.yaml');
  const parsed = await SwaggerParser.parse(path);
  const api = await SwaggerParser.validate(structuredClone(parsed));
  const operations = Object.values(api.paths).reduce(
    (n, item) => n + Object.keys(item).filter((k) => ['get', 'post', 'put', 'delete', 'patch'].includes(k)).length, 0);
  console.log(`valid OpenAPI ${api.openapi}: ${api.info.title} ${api.info.version}, ` +
              `${Object.keys(api.paths).length} paths, ${operations} operations`);

  // Negative controls: each broken copy must be refused.
  const controls = {
    'an answer without its description': (doc) => { delete doc.paths['/v1/health'].get.responses['200'].description; },
    'a $ref to a schema that does not exist': (doc) => {
      doc.paths['/v1/health'].get.responses['200'].content['application/json'].schema = {$ref: '#/components/schemas/Nothing'};
    },
  };
  for (const [what, breakIt] of Object.entries(controls)) {
    const broken = structuredClone(parsed);
    breakIt(broken);
    let refused = false;
    try {
      await SwaggerParser.validate(broken);
    } catch (e) {
      refused = true;
      console.log(`negative control (${what}) refused as expected: ` + String(e.message).split('\n')[0]);
    }
    if (!refused) throw new Error(`negative control: a document with ${what} was accepted`);
  }
}

main().catch((e) => {
  console.error('INVALID: ' + e.message);
  process.exit(1);
});
