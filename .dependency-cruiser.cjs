/**
 * The house rules on imports, checked by `npm test` (and so by CI): imports point down the pipeline, no circle,
 * nothing imports http/ but the process's edges. No exception is listed here, and none may be: a violation is fixed
 * in the code, not allowed in this file.
 *
 *   cli → http → (jobs, read, sync) → (events, indexing, queue, write, criteria, auth) → definitions
 *       → (db, observability, config, errors)
 *
 * Each room lists the rooms it may import (besides itself); everything not listed is forbidden, so an import that
 * climbs, or one between two rooms of the same floor that is not listed, fails. The listed peers form no circle.
 */
const BOTTOM = ['config', 'errors', 'types'];
const BASE = [...BOTTOM, 'observability', 'db'];
const CORE = [...BASE, 'definitions'];

/** room → the rooms it may import. A room is a folder of src/, or one of src/'s files (config, errors, app, …). */
const MAY_IMPORT = {
  config: [],
  errors: [],
  types: [],
  observability: BOTTOM,
  db: [...BOTTOM, 'observability'],
  definitions: BASE,
  criteria: CORE,
  auth: CORE,
  queue: CORE,
  write: [...CORE, 'criteria'],
  events: [...CORE, 'queue', 'write'],
  indexing: [...CORE, 'queue', 'write', 'criteria'],
  sync: [...CORE, 'criteria', 'auth', 'queue', 'write', 'events', 'indexing'],
  read: [...CORE, 'criteria', 'auth', 'write'],
  jobs: [...CORE, 'criteria', 'auth', 'queue', 'write', 'events', 'indexing', 'sync'],
  client: [],
  http: [...CORE, 'criteria', 'auth', 'queue', 'write', 'events', 'indexing', 'sync', 'read', 'jobs'],
  app: [...CORE, 'criteria', 'auth', 'queue', 'write', 'events', 'indexing', 'sync', 'read', 'jobs', 'http'],
  boot: [...CORE, 'criteria', 'auth', 'queue', 'write', 'events', 'indexing', 'sync', 'read', 'jobs', 'http'],
  main: [...CORE, 'criteria', 'auth', 'queue', 'write', 'events', 'indexing', 'sync', 'read', 'jobs', 'http', 'app', 'boot'],
  cli: [...CORE, 'criteria', 'auth', 'queue', 'write', 'events', 'indexing', 'sync', 'read', 'jobs', 'http', 'app', 'boot', 'main', 'client'],
};

/** The path pattern of rooms: `src/<room>/…` or `src/<room>.ts`. */
const rooms = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

module.exports = {
  forbidden: [
    ...Object.entries(MAY_IMPORT).map(([room, allowed]) => ({
      name: `imports-point-down:${room}`,
      comment: `${room} may import only ${allowed.join(', ') || 'nothing of src/'} (imports point down the pipeline)`,
      severity: 'error',
      from: { path: rooms([room]) },
      to: { path: '^src/', pathNot: rooms([room, ...allowed]) },
    })),
    {
      name: 'http-only-from-the-edges',
      comment: 'only app.ts, main.ts, boot.ts and cli/ import http/',
      severity: 'error',
      from: { pathNot: '^src/(http/|cli/|(app|main|boot)\\.ts$)' },
      to: { path: '^src/http/' },
    },
    {
      name: 'no-circle-between-rooms',
      comment: 'no circle that leaves its room (a circle of types inside one room is its own business)',
      severity: 'error',
      from: { path: '^src/([^/.]+)' },
      to: { circular: true, via: { pathNot: '^src/$1(/|\\.ts$)' } },
    },
    {
      name: 'planning-knows-no-commit',
      comment: 'sync/plan/ turns records into commands without a database: it never imports sync/commit/',
      severity: 'error',
      from: { path: '^src/sync/plan/' },
      to: { path: '^src/sync/commit/' },
    },
    {
      name: 'every-module-in-a-room',
      comment: 'a file of src/ that no rule above knows would escape them',
      severity: 'error',
      from: { path: '^src/', pathNot: rooms(Object.keys(MAY_IMPORT)) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type that climbs ties the rooms together as much as a value does.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.d\\.ts$' },
  },
};
