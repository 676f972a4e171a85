import type { ObjectLiteral, Repository } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';

/**
 * Hand-written SQL for an entity's hot paths (the job queue), on SQLite and PostgreSQL alike.
 *
 * TypeORM's query builders cost more than the statements they run: SQL is generated on every call, and on
 * SQLite every number is inlined into the SQL text (AbstractSqliteDriver.escapeQueryWithParameters), so each
 * timestamp makes a new statement that better-sqlite3 prepares from scratch and the statement cache never hits.
 * Here the SQL text of each statement shape is built once and cached, values are always bound parameters, and
 * values are converted with TypeORM's own per-column rules (transformers, SQLite booleans, PostgreSQL bigints),
 * so rows read here and through the repository are the same.
 */
export class EntitySql<Entity extends ObjectLiteral> {
  private readonly table: string;
  private readonly columns: readonly ColumnMetadata[];
  private readonly byProperty = new Map<string, ColumnMetadata>();
  private readonly statements = new Map<string, string>();

  constructor(private readonly repository: Repository<Entity>) {
    const { metadata, manager } = repository;
    const driver = manager.connection.driver;
    this.table = metadata.tablePath
      .split('.')
      .map((part) => driver.escape(part))
      .join('.');
    this.columns = metadata.columns;
    for (const column of this.columns) this.byProperty.set(column.propertyName, column);
  }

  /** The escaped table name, schema-qualified where a schema is configured. */
  get tableName(): string {
    return this.table;
  }

  /** The escaped column name of an entity property. */
  column(property: keyof Entity & string): string {
    return this.connection.driver.escape(this.metadataOf(property).databaseName);
  }

  /**
   * A statement's SQL, built once per `key`. `build` writes placeholders as `?`; they are numbered for
   * PostgreSQL ($1, $2, ...) here, so statements are written once for both databases.
   */
  statement(key: string, build: () => string): string {
    let sql = this.statements.get(key);
    if (sql === undefined) {
      let index = 0;
      sql = build().replace(/\?/g, () => this.connection.driver.createParameter(`p${index}`, index++));
      this.statements.set(key, sql);
    }
    return sql;
  }

  /** A property's value as the database stores it. */
  toDatabase(property: keyof Entity & string, value: unknown): unknown {
    return this.connection.driver.preparePersistentValue(value, this.metadataOf(property)) as unknown;
  }

  /** An entity from a row of `SELECT *` or `RETURNING *`; columns the row lacks stay undefined. */
  fromRow(row: Record<string, unknown>): Entity {
    const entity = this.repository.create();
    const target = entity as Record<string, unknown>;
    const driver = this.connection.driver;
    for (const column of this.columns) {
      if (column.databaseName in row) {
        target[column.propertyName] = driver.prepareHydratedValue(row[column.databaseName], column);
      }
    }
    return entity;
  }

  /** Runs one statement; returns its rows (for SELECT and RETURNING) and the rows it changed. */
  async run(
    sql: string,
    parameters: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; affected: number }> {
    const runner = this.connection.createQueryRunner();
    try {
      const result = await runner.query(sql, parameters, true);
      const rows = (result.records ?? []) as Record<string, unknown>[];
      return { rows, affected: result.affected ?? rows.length };
    } finally {
      await runner.release();
    }
  }

  private get connection() {
    return this.repository.manager.connection;
  }

  private metadataOf(property: string): ColumnMetadata {
    const column = this.byProperty.get(property);
    if (!column) throw new Error(`${this.table} has no column for property ${property}`);
    return column;
  }
}
