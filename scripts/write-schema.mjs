// Writes docs/protocol.schema.json from the built zod schemas (run through `npm run schema`, which builds first).
import { writeFileSync } from 'node:fs';
import { protocolJsonSchema } from '../dist/shared/protocol/json-schema.js';

const file = new URL('../docs/protocol.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`);
console.error(`write-schema: ${file.pathname}`);
