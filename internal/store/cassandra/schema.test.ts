import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  findMigrationsDir,
  migrationStatements,
  REQUIRED_SCHEMA_VERSION,
  readMigrations,
  splitStatements,
} from './schema.js';

describe('db/migrations', () => {
  const dir = findMigrationsDir();

  it('is found from the code, and the code needs exactly the newest migration', () => {
    expect(dir).toBeDefined();
    const migrations = readMigrations(dir as string);
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    expect(migrations.at(-1)?.version).toBe(REQUIRED_SCHEMA_VERSION);
    expect(readdirSync(dir as string).filter((f) => f.endsWith('.cql'))).toHaveLength(migrations.length);
  });

  it('every migration runs against any keyspace: renamed, USE dropped, tables qualified, all idempotent', () => {
    for (const migration of readMigrations(dir as string)) {
      const run = migrationStatements(migration.text, 'ks_other');
      expect(run.length).toBeGreaterThan(0);
      for (const statement of run) {
        expect(statement).not.toMatch(/\bwikistream\b(?!:)/i);
        expect(statement).not.toMatch(/^USE /i);
        if (/^CREATE /i.test(statement)) expect(statement).toMatch(/ IF NOT EXISTS ks_other(\.\w+)?\b/);
        if (/^INSERT /i.test(statement))
          expect(statement).toMatch(/^INSERT INTO ks_other\.schema_migrations /);
      }
      // The last statement records the migration's own version.
      expect(run.at(-1)).toContain(`VALUES (${migration.version}, '${migration.name}'`);
    }
  });
});

describe('splitStatements', () => {
  it('splits on ; outside quotes and drops comments', () => {
    const text = [
      '-- a comment; with a semicolon',
      "CREATE TABLE IF NOT EXISTS t (k text PRIMARY KEY) WITH comment = 'a; b -- not a comment';",
      "/* block; comment */ INSERT INTO t (k) VALUES ('it''s'); // trailing",
      'USE wikistream',
    ].join('\n');
    expect(splitStatements(text)).toEqual([
      "CREATE TABLE IF NOT EXISTS t (k text PRIMARY KEY) WITH comment = 'a; b -- not a comment'",
      "INSERT INTO t (k) VALUES ('it''s')",
      'USE wikistream',
    ]);
  });
});

describe('migrationStatements', () => {
  it('refuses a statement it has no keyspace rule for, and a file naming another keyspace', () => {
    expect(() => migrationStatements('DROP TABLE t;', 'ks')).toThrow(/not supported/);
    expect(() => migrationStatements('USE elsewhere;', 'ks')).toThrow(/must name the keyspace wikistream/);
  });

  it('qualifies ALTER TABLE for later migrations', () => {
    expect(migrationStatements('USE wikistream; ALTER TABLE t ADD x int;', 'ks')).toEqual([
      'ALTER TABLE ks.t ADD x int',
    ]);
  });
});
