import { Migration } from '@mikro-orm/migrations';

/** The checkpoint of `labeler platform migrate` (modules/platform-migration): one row per legacy source. */
export class Migration20261204201000 extends Migration {
  override name = 'Migration20261204201000';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "platform_migration_checkpoint" ("source_key" varchar(255) not null, "phase" varchar(255) not null, "cursor" text not null, "updated_at" timestamptz not null, primary key ("source_key"));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "platform_migration_checkpoint";`);
  }
}
