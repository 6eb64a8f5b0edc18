import { Migration } from '@mikro-orm/migrations';

/** Outbound webhooks (modules/webhooks): subscriptions, one delivery per event and subscription, the attempt log. */
export class Migration20261204200000 extends Migration {
  override name = 'Migration20261204200000';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "webhook_attempt" ("id" varchar(255) not null, "delivery_id" varchar(255) not null, "attempt" int not null, "manual" boolean not null default false, "status_code" int null, "duration_ms" int not null, "error" text null, "response_excerpt" text null, "at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "webhook_attempt" add constraint "webhook_attempt_delivery_id_attempt_unique" unique ("delivery_id", "attempt");`,
    );

    this.addSql(
      `create table "webhook_delivery" ("id" varchar(255) not null, "subscription_id" varchar(255) not null, "event_id" varchar(255) not null, "event_type" varchar(255) not null, "payload" jsonb not null, "state" text not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz null, "last_status" int null, "last_error" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `create index "webhook_delivery_subscription_id_created_at_index" on "webhook_delivery" ("subscription_id", "created_at");`,
    );
    this.addSql(`create index "webhook_delivery_event_id_index" on "webhook_delivery" ("event_id");`);

    this.addSql(
      `create table "webhook_subscription" ("id" varchar(255) not null, "organization_id" varchar(255) null, "url" text not null, "events" jsonb not null, "description" text null, "secret_encrypted" text not null, "enabled" boolean not null default true, "disabled_reason" text null, "consecutive_failures" int not null default 0, "created_by" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `create index "webhook_subscription_organization_id_index" on "webhook_subscription" ("organization_id");`,
    );

    this.addSql(
      `alter table "webhook_delivery" add constraint "webhook_delivery_state_check" check ("state" in ('pending', 'succeeded', 'failed'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "webhook_attempt" cascade;`);
    this.addSql(`drop table if exists "webhook_delivery" cascade;`);
    this.addSql(`drop table if exists "webhook_subscription" cascade;`);
  }
}
