import { Migration } from '@mikro-orm/migrations';

/**
 * Rate-limit counters need no crash durability (a lost window only forgives at most one minute of
 * counts), so the table skips the WAL: a request's counter upsert no longer waits for a disk flush.
 * Written by hand: the entity diff does not model UNLOGGED.
 */
export class Migration20261121120000 extends Migration {
  override name = 'Migration20261121120000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "rate_limit_counter" set unlogged;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "rate_limit_counter" set logged;`);
  }
}
