import fs from 'node:fs';
import path from 'node:path';
import { definitionJsonSchema } from '../definitions/json-schema';

/** `npm run definition-schema`: rewrites schemas/definition.schema.json from the loader's zod schema. */
const target = path.resolve(process.argv[2] ?? 'schemas/definition.schema.json');
fs.writeFileSync(target, JSON.stringify(definitionJsonSchema(), null, 2) + '\n');
process.stdout.write(`wrote ${target}\n`);
