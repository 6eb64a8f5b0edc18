import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotency records keep their answers encrypted (text envelope, no longer plaintext jsonb), mark
 * secret-bearing answers, and lease in-progress records (modules/idempotency/README.md). The stored
 * plaintext answers (new API keys, presigned URLs) are deleted rather than converted: they are a 24 h
 * retry cache, and keeping them is the leak this migration closes.
 */
export class Migration20261204190453 extends Migration {
  override name = 'Migration20261204190453';

  override up(): void | Promise<void> {
    this.addSql(`delete from "idempotency_key";`);
    this.addSql(`alter table "idempotency_key" drop constraint "idempotency_key_state_check";`);
    this.addSql(
      `alter table "idempotency_key" add "secret" boolean not null default false, add "locked_until" timestamptz null, add "lock_token" varchar(255) null;`,
    );
    this.addSql(`alter table "idempotency_key" alter column "response_body" type text using null;`);
    this.addSql(
      `alter table "idempotency_key" add constraint "idempotency_key_state_check" check ("state" in ('in_progress', 'completed', 'consumed'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`delete from "idempotency_key";`);
    this.addSql(`alter table "idempotency_key" drop constraint "idempotency_key_state_check";`);
    this.addSql(
      `alter table "idempotency_key" drop column "secret", drop column "locked_until", drop column "lock_token";`,
    );
    this.addSql(`alter table "idempotency_key" alter column "response_body" type jsonb using null;`);
    this.addSql(
      `alter table "idempotency_key" add constraint "idempotency_key_state_check" check ("state" in ('in_progress', 'completed'));`,
    );
  }
}
