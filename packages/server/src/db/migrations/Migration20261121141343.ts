import { Migration } from '@mikro-orm/migrations';

/**
 * Triggers on `dataset` that notify `labeler_dataset_changes` with each changed dataset's id ('*' on
 * truncate), so every server process drops its cached views (modules/datasets/view-cache.ts).
 * The truncate trigger is not in the entity: MikroORM's schema diff cannot see truncate triggers
 * (information_schema.triggers omits them) and would recreate it on every diff.
 */
export class Migration20261121141343 extends Migration {
  override name = 'Migration20261121141343';

  override up(): void | Promise<void> {
    this.addSql(
      `create or replace function "dataset_dataset_changes_notify_fn"() returns trigger as $$ begin if tg_op = 'DELETE' then perform pg_notify('labeler_dataset_changes', old.id); else perform pg_notify('labeler_dataset_changes', new.id); end if; if tg_op = 'UPDATE' and old.id <> new.id then perform pg_notify('labeler_dataset_changes', old.id); end if; return null; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "dataset_changes_notify" AFTER INSERT OR UPDATE OR DELETE on "dataset" for each ROW execute function "dataset_dataset_changes_notify_fn"();`,
    );
    this.addSql(
      `create or replace function "dataset_dataset_truncate_notify_fn"() returns trigger as $$ begin perform pg_notify('labeler_dataset_changes', '*'); return null; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "dataset_truncate_notify" AFTER TRUNCATE on "dataset" for each STATEMENT execute function "dataset_dataset_truncate_notify_fn"();`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "dataset_changes_notify" on "dataset";`);
    this.addSql(`drop function if exists "dataset_dataset_changes_notify_fn"();`);
    this.addSql(`drop trigger if exists "dataset_truncate_notify" on "dataset";`);
    this.addSql(`drop function if exists "dataset_dataset_truncate_notify_fn"();`);
  }
}
