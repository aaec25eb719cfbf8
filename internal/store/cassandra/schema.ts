import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from 'cassandra-driver';
import { WikistreamError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { toStoreError } from './driver-errors.js';

/**
 * The schema version this code reads and writes: the number of the newest file in db/migrations.
 * A test keeps the two in step.
 */
export const REQUIRED_SCHEMA_VERSION = 2;

/** The keyspace name the migration files are written with; replaced by CASSANDRA_KEYSPACE. */
export const FILE_KEYSPACE = 'wikistream';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly text: string;
}

const MIGRATION_FILE = /^(\d{3})-[a-z0-9-]+\.cql$/;

/**
 * `db/migrations`, found by walking up from this module: the same code runs from the source tree
 * (tsx) and from `dist/` in the image, which must carry `db/` beside `dist/`.
 */
export function findMigrationsDir(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'db', 'migrations');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** The migration files of `dir`, by version. Two files with one number is a mistake worth a stop. */
export function readMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .filter((name) => MIGRATION_FILE.test(name))
    .map((file) => ({
      version: Number(file.slice(0, 3)),
      name: file.replace(/\.cql$/, ''),
      text: readFileSync(join(dir, file), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new WikistreamError(
        'CONFIG_INVALID',
        `two migrations numbered ${migrations[i]?.version} in ${dir}`,
      );
    }
  }
  return migrations;
}

/** Splits CQL text into statements: `;` ends one unless quoted; comments are dropped. */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === "'" || c === '"') {
      // Quoted string or identifier; a doubled quote is an escaped quote.
      let j = i + 1;
      while (j < text.length) {
        if (text[j] === c) {
          if (text[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      current += text.slice(i, j + 1);
      i = j + 1;
    } else if ((c === '-' && next === '-') || (c === '/' && next === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (c === ';') {
      if (current.trim() !== '') statements.push(normalise(current));
      current = '';
      i++;
    } else {
      current += c;
      i++;
    }
  }
  if (current.trim() !== '') statements.push(normalise(current));
  return statements;
}

function normalise(statement: string): string {
  return statement.replace(/\s+/g, ' ').trim();
}

const QUALIFIABLE =
  /^(CREATE TABLE IF NOT EXISTS|CREATE TYPE IF NOT EXISTS|INSERT INTO|ALTER TABLE|UPDATE) (\w+)(?=[\s(])/i;

/**
 * The statements of a migration as the driver runs them against `keyspace`: the keyspace is
 * renamed, `USE` is dropped (a driver session has no current keyspace we rely on) and table names
 * are qualified. Anything else is refused, so a new kind of statement gets a deliberate rule here
 * rather than running against the wrong keyspace.
 */
export function migrationStatements(text: string, keyspace: string): string[] {
  return splitStatements(text).flatMap((statement) => {
    const create = /^CREATE KEYSPACE IF NOT EXISTS (\w+)\b/i.exec(statement);
    if (create) {
      assertFileKeyspace(create[1] as string, statement);
      return [statement.replace(create[0], `CREATE KEYSPACE IF NOT EXISTS ${keyspace}`)];
    }
    const use = /^USE (\w+)$/i.exec(statement);
    if (use) {
      assertFileKeyspace(use[1] as string, statement);
      return [];
    }
    const qualifiable = QUALIFIABLE.exec(statement);
    if (qualifiable) {
      return [statement.replace(qualifiable[0], `${qualifiable[1]} ${keyspace}.${qualifiable[2]}`)];
    }
    throw new WikistreamError(
      'CONFIG_INVALID',
      `migration statement not supported by the schema runner: ${statement.slice(0, 80)}`,
    );
  });
}

function assertFileKeyspace(name: string, statement: string): void {
  if (name !== FILE_KEYSPACE) {
    throw new WikistreamError(
      'CONFIG_INVALID',
      `migrations must name the keyspace ${FILE_KEYSPACE} (substituted at run time): ${statement}`,
    );
  }
}

/** What a schema check found: the recorded version, undefined when there is no schema at all. */
export async function readSchemaVersion(client: Client, keyspace: string): Promise<number | undefined> {
  const table = await client.execute(
    'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, 'schema_migrations'],
    { prepare: true, isIdempotent: true },
  );
  if (table.rowLength === 0) return undefined;
  const rows = await client.execute(`SELECT version FROM ${keyspace}.schema_migrations`, [], {
    prepare: true,
    isIdempotent: true,
  });
  let max: number | undefined;
  for (const row of rows.rows) {
    const version = row.get('version') as number | null;
    if (version !== null && (max === undefined || version > max)) max = version;
  }
  return max;
}

/**
 * Brings the keyspace up to REQUIRED_SCHEMA_VERSION when allowed (`apply`), then checks it.
 * A schema older than the code stops start-up with a message naming what to run: reading or
 * writing tables that lack columns would fail on every batch instead.
 */
export async function ensureSchema(
  client: Client,
  options: { keyspace: string; apply: boolean; migrationsDir: string | undefined; log: Logger },
): Promise<number> {
  const { keyspace, log } = options;
  let version: number | undefined;
  try {
    version = await readSchemaVersion(client, keyspace);
    if (options.apply && (version ?? 0) < REQUIRED_SCHEMA_VERSION) {
      if (options.migrationsDir === undefined) {
        throw new WikistreamError(
          'STORE_SCHEMA_OUTDATED',
          'CASSANDRA_APPLY_SCHEMA=true but db/migrations was not found beside the code; ' +
            'ship db/ with the build or apply the schema with cqlsh',
        );
      }
      for (const migration of readMigrations(options.migrationsDir)) {
        if (migration.version <= (version ?? 0)) continue;
        for (const statement of migrationStatements(migration.text, keyspace)) {
          // DDL here is IF NOT EXISTS and the version row an upsert: safe for the driver to retry.
          await client.execute(statement, [], { isIdempotent: true });
        }
        log.info({ keyspace, migration: migration.name }, 'applied Cassandra schema migration');
      }
      version = await readSchemaVersion(client, keyspace);
    }
  } catch (err) {
    throw err instanceof WikistreamError ? err : toStoreError(err, 'checking the Cassandra schema');
  }
  if (version === undefined || version < REQUIRED_SCHEMA_VERSION) {
    throw new WikistreamError(
      'STORE_SCHEMA_OUTDATED',
      `Cassandra keyspace "${keyspace}" is at schema version ${version ?? 'none'} but this build needs ` +
        `${REQUIRED_SCHEMA_VERSION}: apply db/migrations (cqlsh -f db/migrations/NNN-*.cql, in order) ` +
        'or start with CASSANDRA_APPLY_SCHEMA=true',
    );
  }
  if (version > REQUIRED_SCHEMA_VERSION) {
    log.warn(
      { keyspace, version, required: REQUIRED_SCHEMA_VERSION },
      'Cassandra schema is newer than this build; continuing (migrations only add)',
    );
  }
  return version;
}
