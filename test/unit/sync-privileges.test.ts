import path from 'node:path';
import { loadRegistry, registryFromTexts } from '../../src/definitions/registry';
import { deletePrivileges } from '../../src/sync/privileges';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);

describe('privileges of a delete, from the delete rules', () => {
  it('set null: the upsert privilege of the entity whose references are cleared', () => {
    expect(deletePrivileges(registry, 'product_manufacturer').sort()).toEqual(['product:upsert', 'product_manufacturer:delete']);
  });

  it('cascade: the delete privilege of every entity reached, and what their own rules need', () => {
    expect(deletePrivileges(registry, 'category').sort()).toEqual(['category:delete', 'product_category:delete']);
    expect(deletePrivileges(registry, 'product').sort()).toEqual(['product:delete', 'product_category:delete', 'product_property:delete', 'product_visibility:delete']);
    // restrict changes nothing: a tax still used is refused at run time, so no privilege on products is needed.
    expect(deletePrivileges(registry, 'tax')).toEqual(['tax:delete']);
  });

  it('follows set null rules of entities that a cascade reaches', () => {
    const own = registryFromTexts([
      { file: 'shelf.json', text: JSON.stringify({ entity: 'shelf', fields: { id: { kind: 'id' } } }) },
      { file: 'box.json', text: JSON.stringify({ entity: 'box', fields: { id: { kind: 'id' }, shelfId: { kind: 'fk', references: 'shelf', onDelete: 'cascade' } } }) },
      { file: 'label.json', text: JSON.stringify({ entity: 'label', fields: { id: { kind: 'id' }, boxId: { kind: 'fk', references: 'box', onDelete: 'set null' } } }) },
    ]);
    expect(deletePrivileges(own, 'shelf').sort()).toEqual(['box:delete', 'label:upsert', 'shelf:delete']);
  });
});
