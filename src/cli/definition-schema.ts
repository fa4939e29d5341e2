import fs from 'node:fs';
import path from 'node:path';
import { definitionJsonSchema } from '../definitions/json-schema';

/** `bulksync definition-schema [file]`: rewrites schemas/definition.schema.json from the loader's zod schema. */
export function definitionSchemaCommand(args: string[]): void {
  const target = path.resolve(args[0] ?? 'schemas/definition.schema.json');
  fs.writeFileSync(target, JSON.stringify(definitionJsonSchema(), null, 2) + '\n');
  process.stdout.write(`wrote ${target}\n`);
}

if (require.main === module) definitionSchemaCommand(process.argv.slice(2));
