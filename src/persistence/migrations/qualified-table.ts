import type { QueryRunner } from 'typeorm';

/** A table's name for raw DDL, qualified with the PostgreSQL schema when one is configured. */
export function qualifiedTable(queryRunner: QueryRunner, table: string): string {
  const { options } = queryRunner.connection;
  const schema = options.type === 'postgres' ? options.schema : undefined;
  return schema ? `"${schema}"."${table}"` : `"${table}"`;
}
