import { isId, toApiId } from '../../definitions/ids';
import { isObject } from '../../definitions/json';
import type { FieldDef } from '../../definitions/types';
import { showValue } from '../../errors';
import type { PlanContext, Report } from './plan-context';

/**
 * Ids inside json list items (price[].currencyId, see the definition option itemReferences): a resolver object
 * (`{ "resolver": "currency.isoCode", "value": "eur" }`) becomes the id it finds in the request's lookup tables;
 * a miss is REFERENCE_UNRESOLVED at the property. Returns the value with resolved ids, and whether one failed.
 */
export function resolveItemReferences(ctx: PlanContext, field: FieldDef, raw: unknown[], report: Report): { value: unknown[]; failed: boolean } {
  let failed = false;
  const value = raw.map((item, i) => {
    if (!isObject(item)) return item;
    let out = item;
    for (const [prop, target] of Object.entries(field.itemReferences!)) {
      const given = item[prop];
      if (!isObject(given)) continue;
      const at = [field.name, i, prop];
      const id = resolveOne(ctx, target, given, (code, detail, ...more) => report(code, detail, ...at, ...more));
      if (id === undefined) failed = true;
      // Still a well-formed id, so that the rest of the value is checked without a second error here.
      out = { ...out, [prop]: id ?? '00000000000000000000000000000000' };
    }
    return out;
  });
  return { value, failed };
}

function resolveOne(ctx: PlanContext, target: string, given: Record<string, unknown>, report: Report): string | undefined {
  const extra = Object.keys(given).filter((k) => k !== 'resolver' && k !== 'value');
  if (typeof given.resolver !== 'string' || extra.length) return void report('VALUE_INVALID', 'expected an id or { "resolver": "<entity>.<field>", "value": … }');
  const resolver = ctx.registry.resolver(given.resolver);
  if (!resolver || resolver.entity.name !== target || resolver.fields.length !== 1) {
    const offered = ctx.registry.resolverNames().filter((n) => n.startsWith(target + '.'));
    return void report('RESOLVER_NOT_FOUND', `unknown resolver ${showValue(given.resolver)} for a ${target}; ${target} offers ${offered.join(', ') || 'none'}`, 'resolver');
  }
  const field = resolver.fields[0]!;
  const value = field.upperCase && typeof given.value === 'string' ? given.value.toUpperCase() : given.value;
  if (value === null || value === undefined || typeof value === 'object') return void report('VALUE_INVALID', `${resolver.name}: expected a value, got ${showValue(given.value)}`, 'value');
  const hits = ctx.lookups.get(target)?.byResolver.get(resolver.name)?.get(String(value)) ?? [];
  if (hits.length !== 1) {
    return void report(
      'REFERENCE_UNRESOLVED',
      hits.length ? `${hits.length} ${target} records have ${field.name} ${showValue(value)}; ${resolver.name} needs exactly one` : `no ${target} with ${field.name} ${showValue(value)}`,
    );
  }
  return hits[0]!;
}

/** A field's itemReferences as a list, made once (this runs for every price of every product). */
const referenceLists = new WeakMap<FieldDef, readonly (readonly [string, string])[]>();

/** Every id a json value's items name exists (FK_NOT_FOUND at the property otherwise). */
export function itemReferencesExist(ctx: PlanContext, field: FieldDef, value: unknown, report: Report): boolean {
  if (!Array.isArray(value)) return true;
  let references = referenceLists.get(field);
  if (!references) referenceLists.set(field, (references = Object.entries(field.itemReferences!)));
  let ok = true;
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (!isObject(item)) continue;
    for (const [prop, target] of references) {
      const id = item[prop];
      // The stored ids are spelled as the API spells them (32 lowercase hex digits); an id sent that way is looked
      // up as it is, any other spelling of an id after conversion.
      if (!isId(id)) continue;
      const table = ctx.lookups.get(target);
      if (!table || table.ids.has(id) || table.ids.has(toApiId(id))) continue;
      ok = false;
      report('FK_NOT_FOUND', `${field.name}.${i}.${prop}: no ${target} with id ${toApiId(id)}`, field.name, i, prop);
    }
  }
  return ok;
}
