import { z } from 'zod';
import { definitionFileSchema } from './definition-file';

/** JSON Schema of the files in schemas/, generated from the zod schema that loads them (one source of truth). */
export function definitionJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(definitionFileSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'bulksync entity definition',
  };
}
