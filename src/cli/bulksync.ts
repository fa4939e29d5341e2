import { ApiProblem, AuthenticationError, ConnectionError } from '../client';
import { EXIT, UsageError } from './args';
import { exportCommand } from './export';
import { importCommand } from './import/command';
// The service commands load the whole service (database, queue, express): required only when run, so that the
// client commands start quickly. require, not import(): under tsx's CommonJS hook import() would not find .ts files.
type ServiceCommands = typeof import('./integration') & typeof import('./migrate') & typeof import('./worker') & typeof import('./definition-schema');
const service = <K extends keyof ServiceCommands>(file: string, name: K): ServiceCommands[K] => (require(file) as ServiceCommands)[name];

export const USAGE = `usage: bulksync <command> [options]   (bulksync <command> --help for its options)

client commands (talk to a running service; BULKSYNC_URL, BULKSYNC_CLIENT_ID, BULKSYNC_CLIENT_SECRET):
  import <file|-> --entity <name>   import a CSV, NDJSON or JSON file in batches, with retries and --resume
  export <entity>                   write an entity's records (or what changed since a cursor) as NDJSON

service commands (run where the service runs; DATABASE_URL etc. as for the service):
  serve                             start the service (as npm start)
  worker                            a process that only works the indexing queue (as npm run worker)
  migrate                           apply pending migrations and exit (as npm run migrate)
  integration create|list|revoke    manage API clients (as npm run integration --)
  definition-schema [file]          regenerate schemas/definition.schema.json

exit codes: 0 ok, 1 failed records, 2 usage or connection error`;

const SERVICE_HELP: Record<string, string> = {
  serve: 'usage: bulksync serve\n\nStarts the service with the settings of the environment (README.md, "Settings"); stops on SIGTERM/SIGINT.',
  worker: 'usage: bulksync worker\n\nWorks the indexing queue only (docs/indexing.md); stops on SIGTERM/SIGINT.',
  migrate: 'usage: bulksync migrate\n\nApplies pending migrations of MIGRATIONS_DIR, the queue schema and the admin integration (when configured), then exits.',
  'definition-schema': 'usage: bulksync definition-schema [file]\n\nWrites the JSON Schema of definition files (default schemas/definition.schema.json).',
};

const forever = () => new Promise<number>(() => undefined);

/** Runs one command; resolves with its exit code (service commands that keep running never resolve). */
export async function runCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command ? EXIT.ok : EXIT.usage;
  }
  if (SERVICE_HELP[command] && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(SERVICE_HELP[command] + '\n');
    return EXIT.ok;
  }
  switch (command) {
    case 'import':
      return importCommand(args, env);
    case 'export':
      return exportCommand(args, env);
    case 'serve':
      // main.ts starts the service when loaded, as `node dist/main.js` does.
      require('../main');
      return forever();
    case 'worker':
      await service('./worker', 'workerCommand')();
      return forever();
    case 'migrate':
      await service('./migrate', 'migrateCommand')();
      return EXIT.ok;
    case 'integration':
      return service('./integration', 'integrationCommand')(args);
    case 'definition-schema':
      service('./definition-schema', 'definitionSchemaCommand')(args);
      return EXIT.ok;
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

/** The message and exit code of an error that ended a command. */
export function explain(e: unknown): { code: number; message: string } {
  if (e instanceof UsageError || e instanceof ConnectionError || e instanceof AuthenticationError) return { code: EXIT.usage, message: e.message };
  if (e instanceof ApiProblem) return { code: EXIT.usage, message: `the service refused the request: ${e.message}` };
  return { code: 1, message: e instanceof Error ? e.message : String(e) };
}

if (require.main === module) {
  runCommand(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      const { code, message } = explain(e);
      process.stderr.write(`bulksync: ${message}\n`);
      process.exit(code);
    },
  );
}
