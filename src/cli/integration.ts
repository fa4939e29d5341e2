import { Integrations } from '../auth/integrations';
import { parsePrivileges } from '../auth/privileges';
import { loadConfig } from '../config';
import { openDatabase } from '../db/database';
import { loadRegistry } from '../definitions/registry';
import { createLogger } from '../observability/logger';

export const INTEGRATION_USAGE = `usage:
  bulksync integration create --name <name> --privileges <entity:action,...>
  bulksync integration list
  bulksync integration revoke <client id>
(npm run integration -- … is the same command.) Works on the database of DATABASE_URL (or the embedded one);
the secret of a new integration is printed once and stored hashed.`;
const USAGE = INTEGRATION_USAGE;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** `bulksync integration create|list|revoke`: manages API clients; a new secret is printed once, never stored in clear. */
export async function integrationCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h') || args.length === 0) {
    process.stdout.write(USAGE + '\n');
    return args.length === 0 ? 2 : 0;
  }
  const config = loadConfig();
  const registry = loadRegistry(config.SCHEMAS_DIR);
  // Never migrates: the server owns the schema, and this command may run with other MIGRATIONS_DIR settings than the
  // server (knex then calls the directory "corrupt"); it needs only the integrations table.
  const db = await openDatabase({ ...config, MIGRATE_ON_START: false }, undefined, createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL));
  try {
    if (!(await db.knex.schema.hasTable('bulksync_integration'))) {
      throw new Error('the database has no integrations table yet: start the service once (npm start) or run npm run migrate first');
    }
    const integrations = new Integrations(db.knex);
    const [command, ...rest] = args;
    if (command === 'create') {
      const name = flag(rest, 'name');
      const privileges = parsePrivileges(flag(rest, 'privileges') ?? '', registry.names());
      if (!name) throw new Error(`--name is required\n${USAGE}`);
      if (!privileges.ok) throw new Error(`--privileges: ${privileges.error}\n${USAGE}`);
      const { integration, secret } = await integrations.create({ name, privileges: privileges.value });
      process.stdout.write(
        `integration created: ${integration.name}\n  client_id:     ${integration.clientId}\n  client_secret: ${secret}\n` +
          `  privileges:    ${integration.privileges.join(', ')}\nThe secret is shown once; store it now.\n`,
      );
      return 0;
    }
    if (command === 'list') {
      for (const i of await integrations.list()) {
        process.stdout.write(`${i.clientId}\t${i.name}\t${i.privileges.join(',')}\t${i.revokedAt ? `revoked ${i.revokedAt}` : 'active'}\n`);
      }
      return 0;
    }
    if (command === 'revoke') {
      if (!rest[0]) throw new Error(`the client id is required\n${USAGE}`);
      const done = await integrations.revoke(rest[0]);
      process.stdout.write(done ? `revoked ${rest[0]}\n` : `no active integration ${rest[0]}\n`);
      return done ? 0 : 1;
    }
    throw new Error(USAGE);
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  integrationCommand(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`bulksync integration: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
