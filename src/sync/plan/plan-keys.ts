import { kindOf } from '../../definitions/kinds';
import type { EntityDef, FieldDef, ResolverDef } from '../../definitions/types';
import { showValue } from '../../errors';
import { isObject } from '../../definitions/json';
import { type FieldSite } from './plan-context';
import { PendingRef, type MatchCandidate } from './pending';

/**
 * The keys that find an existing record for a record without id, in order: the entity's match keys (by default its
 * unique keys that contain externalId, e.g. externalId alone or storeId + externalId), then the operation's
 * matchBy fields. A key is a candidate when the record gives every field of it.
 */
export function matchCandidates(entity: EntityDef, values: Map<string, unknown>, matchBy: readonly string[]): MatchCandidate[] {
  const out: MatchCandidate[] = [];
  for (const fields of matchKeysOf(entity, matchBy)) {
    // A loop that stops at the first missing value: every record named by externalId or matchBy comes through here.
    const vals = new Array<unknown>(fields.length);
    let complete = true;
    for (let i = 0; i < fields.length && complete; i++) complete = (vals[i] = values.get(fields[i]!.name)) != null;
    if (complete) out.push({ fields, values: vals });
  }
  return out;
}

/**
 * The keys matchCandidates tries, as their fields, worked out once per operation's matchBy and entity (not per
 * record): a candidate shares its key's list of fields.
 */
const keyCache = new WeakMap<readonly string[], WeakMap<EntityDef, readonly (readonly FieldDef[])[]>>();
function matchKeysOf(entity: EntityDef, matchBy: readonly string[]): readonly (readonly FieldDef[])[] {
  let byEntity = keyCache.get(matchBy);
  // Weak on the entity too: the shared empty list lives as long as the process, a registry's definitions need not.
  if (!byEntity) keyCache.set(matchBy, (byEntity = new WeakMap()));
  let keys = byEntity.get(entity);
  if (!keys) {
    const names = [...entity.matchKeys, ...matchBy.filter((n) => !entity.matchKeys.some((k) => k.length === 1 && k[0] === n)).map((n) => [n])];
    keys = names.map((key) => key.map((n) => entity.fields[n]!));
    byEntity.set(entity, keys);
  }
  return keys;
}

/**
 * `{ "resolver": "<entity>.<unique field>", "value": …, "nullOnMissing": false }` on an id or fk field → a pending
 * reference, checked here (resolver known, entity matches the field, value valid) and looked up by the resolve stage.
 */
export function planResolver(site: FieldSite, field: FieldDef, raw: Record<string, unknown>): PendingRef | undefined {
  const { ctx, entity, ref, report } = site;
  const extra = Object.keys(raw).filter((k) => k !== 'resolver' && k !== 'value' && k !== 'nullOnMissing');
  if (typeof raw.resolver !== 'string' || extra.length) {
    return void report('VALUE_INVALID', `${field.name}: expected an id or { "resolver": "<entity>.<field>", "value": … }`, field.name);
  }
  const resolver = ctx.registry.resolver(raw.resolver);
  const target = field.kind === 'fk' ? field.references! : entity.name;
  if (!resolver) {
    const offered = ctx.registry.resolverNames().filter((n) => n.startsWith(target + '.'));
    return void report(
      'RESOLVER_NOT_FOUND',
      `unknown resolver ${showValue(raw.resolver)}; ${target} offers ${offered.length ? offered.join(', ') : 'none'}`,
      field.name,
      'resolver',
    );
  }
  if (resolver.entity.name !== target) {
    return void report('VALUE_INVALID', `${field.name} references ${target}, but resolver ${resolver.name} finds a ${resolver.entity.name}`, field.name, 'resolver');
  }
  if (raw.nullOnMissing !== undefined && typeof raw.nullOnMissing !== 'boolean') {
    return void report('VALUE_INVALID', 'nullOnMissing must be true or false', field.name, 'nullOnMissing');
  }
  const nullOnMissing = raw.nullOnMissing === true;
  if (nullOnMissing && field.kind === 'fk' && !field.nullable) {
    return void report('VALUE_INVALID', `${field.name} cannot be null, so nullOnMissing cannot apply`, field.name, 'nullOnMissing');
  }
  const candidate = resolverCandidate(resolver, raw.value, (why) => report('VALUE_INVALID', `${field.name}: ${resolver.name}: ${why}`, field.name, 'value'));
  if (!candidate) return undefined;
  return new PendingRef({ target: resolver.entity, candidates: [candidate], nullOnMissing, ref, at: field.name, isOwnKey: field.kind === 'id', resolverName: resolver.name });
}

/** A resolver's value → the candidate to look up: one value for a single field, an object for a composite key. */
function resolverCandidate(resolver: ResolverDef, value: unknown, bad: (why: string) => void): MatchCandidate | undefined {
  const single = resolver.fields.length === 1;
  const given = single ? { [resolver.fields[0]!.name]: value } : value;
  if (!isObject(given)) return void bad(`expects an object with ${resolver.fields.map((f) => f.name).join(' and ')}, got ${showValue(value)}`);
  const values: unknown[] = [];
  for (const f of resolver.fields) {
    const v = f.upperCase && typeof given[f.name] === 'string' ? (given[f.name] as string).toUpperCase() : given[f.name];
    const parsed = resolver.entity.validators.get(f.name)!.safeParse(v);
    if (v === null || v === undefined || !parsed.success) {
      const why = parsed.success ? 'a value is needed' : (parsed.error.issues[0]?.message ?? 'invalid value');
      return void bad(`${single ? '' : f.name + ': '}${why}, got ${showValue(v)}`);
    }
    values.push(kindOf(f).toDb(parsed.data));
  }
  if (!single) {
    const extra = Object.keys(given).filter((k) => !resolver.fields.some((f) => f.name === k));
    if (extra.length) return void bad(`unexpected ${extra.join(', ')}; the key is ${resolver.fields.map((f) => f.name).join(' + ')}`);
  }
  return { fields: resolver.fields, values, ...(resolver.ambiguous ? { ambiguous: true } : {}) };
}
