/**
 * The languages of a fresh Shopware install: English (en-GB, the system default) and Deutsch (de-DE), or those of
 * the LANGUAGES setting, which the service hands to its migrations as `knex.userParams.languages`
 * (`[{ localeCode, name }]`, the first one the system default).
 *
 * Only on a fresh database: one that holds no record yet and no language but the default. An existing database is
 * left as it is (its owner may have made German under an id of their own, or want no second language).
 *
 * The system default keeps its id (2fbb5fe2…, what every Shopware client sends), as Shopware's installer does when
 * another default language is chosen; the other languages get an id derived from their locale code, the same on
 * every install.
 */
const crypto = require('node:crypto');

const DEFAULT_LANGUAGE = '2fbb5fe2e29a4d70aa5854ce7ce3e20b';
const SHOPWARE_LANGUAGES = [
  { localeCode: 'en-GB', name: 'English' },
  { localeCode: 'de-DE', name: 'Deutsch' },
];
/** Tables whose rows show that the database is in use. */
const IN_USE = ['tax', 'product', 'category', 'country', 'customer', 'product_manufacturer', 'property_group', 'sales_channel'];

function languageId(localeCode) {
  return crypto.createHash('md5').update(`bulksync language ${localeCode.toLowerCase()}`).digest('hex');
}

async function fresh(knex) {
  const [{ n }] = (await knex.raw(`SELECT count(*)::int AS n FROM language WHERE id <> ?`, [DEFAULT_LANGUAGE])).rows;
  if (n > 0) return false;
  const used = await knex.raw(IN_USE.map((t) => `SELECT 1 FROM ${t}`).join(' UNION ALL ') + ' LIMIT 1');
  return used.rows.length === 0;
}

exports.up = async function up(knex) {
  if (!(await fresh(knex))) return;
  const languages = (knex.userParams && knex.userParams.languages) || SHOPWARE_LANGUAGES;
  const [first, ...others] = languages;
  await knex.raw(`UPDATE language SET locale_code = ?, name = ? WHERE id = ?`, [first.localeCode, first.name, DEFAULT_LANGUAGE]);
  for (const l of others) {
    await knex.raw(`INSERT INTO language (id, name, locale_code) VALUES (?, ?, ?)`, [languageId(l.localeCode), l.name, l.localeCode]);
  }
  // Install data, like the default language of the first migrations: not a change for the change feed's readers
  // (a fresh database's feed starts empty).
  await knex.raw(`DELETE FROM change_log WHERE xid = pg_current_xact_id() AND entity = 'language'`);
};

/** The languages stay: records may have been translated into them since. */
exports.down = async function down() {};
