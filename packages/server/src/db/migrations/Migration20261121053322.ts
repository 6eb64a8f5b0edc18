import { Migration } from '@mikro-orm/migrations';

export class Migration20261121053322 extends Migration {
  override name = 'Migration20261121053322';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "admin_session" ("id" varchar(255) not null, "user_id" varchar(255) not null, "csrf_token" varchar(255) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "last_seen_at" timestamptz not null, "ip" varchar(255) null, "user_agent" text null, primary key ("id"));`,
    );
    this.addSql(`create index "admin_session_user_id_index" on "admin_session" ("user_id");`);

    this.addSql(
      `create table "admin_user" ("id" varchar(255) not null, "email" varchar(255) not null, "name" varchar(255) not null, "password_hash" varchar(255) not null, "organization_id" varchar(255) null, "locale" varchar(255) not null default 'en', "created_at" timestamptz not null, "last_login_at" timestamptz null, "disabled_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "admin_user" add constraint "admin_user_email_unique" unique ("email");`);

    this.addSql(
      `create table "annotation" ("id" varchar(255) not null, "project_id" varchar(255) not null, "dataset_id" varchar(255) not null, "sample_id" varchar(255) not null, "external_task_id" varchar(255) not null, "external_annotation_id" varchar(255) not null, "result" jsonb not null, "labels" jsonb not null default '{}', "annotator" varchar(255) null, "ground_truth" boolean not null default false, "source" text not null, "backend_updated_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "annotation" add constraint "annotation_project_id_sample_id_unique" unique ("project_id", "sample_id");`,
    );

    this.addSql(
      `create table "annotation_project" ("id" varchar(255) not null, "dataset_id" varchar(255) not null, "backend_instance_id" varchar(255) not null, "name" varchar(255) not null, "external_id" varchar(255) null, "label_schema" jsonb not null, "label_config" text null, "media" jsonb null, "status" text not null default 'pending', "sync_status" text not null default 'pending', "task_count" int not null default 0, "annotation_count" int not null default 0, "last_sync_at" timestamptz null, "last_error" text null, "webhook_id" varchar(255) null, "created_by" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "annotation_project_dataset_id_index" on "annotation_project" ("dataset_id");`);

    this.addSql(
      `create table "annotation_task_link" ("id" varchar(255) not null, "project_id" varchar(255) not null, "sample_id" varchar(255) not null, "external_task_id" varchar(255) not null, "batch" int not null default 0, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `create index "annotation_task_link_project_id_external_task_id_index" on "annotation_task_link" ("project_id", "external_task_id");`,
    );
    this.addSql(
      `alter table "annotation_task_link" add constraint "annotation_task_link_project_id_sample_id_unique" unique ("project_id", "sample_id");`,
    );

    this.addSql(
      `create table "audit_event" ("id" varchar(255) not null, "at" timestamptz not null, "actor_kind" varchar(255) not null, "actor_id" varchar(255) null, "actor_name" varchar(255) null, "action" varchar(255) not null, "target_type" varchar(255) null, "target_id" varchar(255) null, "details" jsonb not null default '{}', "request_id" varchar(255) null, "ip" varchar(255) null, primary key ("id"));`,
    );
    this.addSql(`create index "audit_event_at_index" on "audit_event" ("at");`);
    this.addSql(`create index "audit_event_action_at_index" on "audit_event" ("action", "at");`);
    this.addSql(`create index "audit_event_actor_id_at_index" on "audit_event" ("actor_id", "at");`);
    this.addSql(`create index "audit_event_target_id_at_index" on "audit_event" ("target_id", "at");`);

    this.addSql(
      `create table "dataset" ("id" varchar(255) not null, "organization_id" varchar(255) null, "name" varchar(255) not null, "description" text null, "format" text not null, "labeled" boolean not null default false, "storage_instance_id" varchar(255) null, "storage_type" varchar(255) not null default 'local', "storage_path" varchar(255) not null, "annotation_path" varchar(255) null, "num_classes" int not null default 0, "num_images" int not null default 0, "class_names" text[] not null default '{}', "tags" text[] not null default '{}', "visibility" text not null default 'private', "owner_id" int not null, "version" int not null default 0, "content_hash" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`create index "dataset_owner_id_index" on "dataset" ("owner_id");`);
    this.addSql(`create index "dataset_organization_id_index" on "dataset" ("organization_id");`);
    this.addSql(
      `create index "dataset_visibility_created_at_index" on "dataset" ("visibility", "created_at");`,
    );
    this.addSql(`create index "dataset_created_at_index" on "dataset" ("created_at");`);
    this.addSql(`create index "dataset_tags_gin" on "dataset" using gin ("tags");`);

    this.addSql(
      `create table "dataset_file" ("id" varchar(255) not null, "dataset_id" varchar(255) not null, "path" text not null, "storage_key" text not null, "size" bigint not null, "sha256" varchar(255) not null, "content_type" varchar(255) null, "first_version" int not null, "last_version" int null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `create index "dataset_file_dataset_id_last_version_index" on "dataset_file" ("dataset_id", "last_version");`,
    );
    this.addSql(
      `alter table "dataset_file" add constraint "dataset_file_dataset_id_path_first_version_unique" unique ("dataset_id", "path", "first_version");`,
    );

    this.addSql(
      `create table "dataset_permission" ("id" varchar(255) not null, "dataset_id" varchar(255) not null, "user_id" int not null, "role" text not null, "granted_by" varchar(255) null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "dataset_permission_user_id_index" on "dataset_permission" ("user_id");`);
    this.addSql(
      `alter table "dataset_permission" add constraint "dataset_permission_dataset_id_user_id_unique" unique ("dataset_id", "user_id");`,
    );

    this.addSql(
      `create table "dataset_sample" ("dataset_id" varchar(255) not null, "id" varchar(255) not null, "filepath" text not null, "width" int null, "height" int null, "tags" text[] not null default '{}', "labels" jsonb not null default '{}', "updated_at" timestamptz not null, primary key ("dataset_id", "id"));`,
    );

    this.addSql(
      `create table "dataset_version" ("id" varchar(255) not null, "dataset_id" varchar(255) not null, "version" int not null, "content_hash" varchar(255) not null, "annotation_path" varchar(255) null, "num_images" int not null, "num_classes" int not null, "class_names" text[] not null default '{}', "file_count" int not null default 0, "total_bytes" bigint not null default '0', "note" text null, "created_by" varchar(255) null, "archive_status" text not null default 'none', "archive_key" varchar(255) null, "archive_size_bytes" bigint null, "archive_content_hash" varchar(255) null, "archive_manifest" jsonb null, "archive_job_id" varchar(255) null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "dataset_version" add constraint "dataset_version_dataset_id_version_unique" unique ("dataset_id", "version");`,
    );

    this.addSql(
      `create table "idempotency_key" ("principal_id" varchar(255) not null, "key" varchar(255) not null, "method" varchar(255) not null, "path" text not null, "request_hash" varchar(255) not null, "state" text not null, "response_status" int null, "response_body" jsonb null, "created_at" timestamptz not null, "expires_at" timestamptz not null, primary key ("principal_id", "key"));`,
    );
    this.addSql(`create index "idempotency_key_expires_at_index" on "idempotency_key" ("expires_at");`);

    this.addSql(
      `create table "job" ("id" varchar(255) not null, "kind" varchar(255) not null, "queue" text not null, "state" text not null default 'queued', "dedup_key" varchar(255) null, "payload" jsonb not null, "progress_done" int not null default 0, "progress_total" int null, "progress_message" text null, "attempts" int not null default 0, "max_attempts" int not null default 3, "timeout_seconds" int not null, "error" jsonb null, "result" jsonb null, "cancel_requested" boolean not null default false, "created_by" varchar(255) null, "created_at" timestamptz not null, "started_at" timestamptz null, "finished_at" timestamptz null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "job_state_created_at_index" on "job" ("state", "created_at");`);
    this.addSql(`create index "job_kind_created_at_index" on "job" ("kind", "created_at");`);
    this.addSql(
      `create unique index "job_dedup_active_unique" on "job" ("dedup_key") where "dedup_key" is not null and "state" in ('queued', 'in_progress');`,
    );

    this.addSql(
      `create table "membership" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "user_id" int not null, "role" text not null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "membership_user_id_index" on "membership" ("user_id");`);
    this.addSql(
      `alter table "membership" add constraint "membership_organization_id_user_id_unique" unique ("organization_id", "user_id");`,
    );

    this.addSql(
      `create table "organization" ("id" varchar(255) not null, "name" varchar(255) not null, "slug" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`alter table "organization" add constraint "organization_slug_unique" unique ("slug");`);

    this.addSql(
      `create table "platform_user" ("id" int not null, "display_name" varchar(255) null, "email" varchar(255) null, "created_at" timestamptz not null, primary key ("id"));`,
    );

    this.addSql(
      `create table "plugin_instance" ("id" varchar(255) not null, "plugin_id" varchar(255) not null, "kind" text not null, "name" varchar(255) not null, "public_config" jsonb not null, "secret_config" text null, "enabled" boolean not null default true, "is_default" boolean not null default false, "health_status" varchar(255) not null default 'unknown', "health_message" text null, "health_checked_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "plugin_instance" add constraint "plugin_instance_name_unique" unique ("name");`,
    );

    this.addSql(
      `create table "rate_limit_counter" ("bucket" varchar(255) not null, "window_start" bigint not null, "count" int not null default 0, primary key ("bucket", "window_start"));`,
    );
    this.addSql(
      `create index "rate_limit_counter_window_start_index" on "rate_limit_counter" ("window_start");`,
    );

    this.addSql(
      `create table "service_account" ("id" varchar(255) not null, "name" varchar(255) not null, "organization_id" varchar(255) null, "key_prefix" varchar(255) not null, "key_hash" varchar(255) not null, "previous_key_hash" varchar(255) null, "previous_key_expires_at" timestamptz null, "scopes" text[] not null default '{}', "created_by" varchar(255) null, "created_at" timestamptz not null, "expires_at" timestamptz null, "revoked_at" timestamptz null, "last_used_at" timestamptz null, "request_count" bigint not null default '0', "rate_limited_count" bigint not null default '0', "bootstrap" boolean not null default false, primary key ("id"));`,
    );
    this.addSql(
      `alter table "service_account" add constraint "service_account_key_hash_unique" unique ("key_hash");`,
    );
    this.addSql(
      `create index "service_account_previous_key_hash_index" on "service_account" ("previous_key_hash");`,
    );

    this.addSql(
      `alter table "annotation" add constraint "annotation_source_check" check ("source" in ('pull', 'webhook', 'sync-one'));`,
    );

    this.addSql(
      `alter table "annotation_project" add constraint "annotation_project_status_check" check ("status" in ('pending', 'ready', 'importing', 'failed', 'archived'));`,
    );
    this.addSql(
      `alter table "annotation_project" add constraint "annotation_project_sync_status_check" check ("sync_status" in ('pending', 'syncing', 'synced', 'failed'));`,
    );

    this.addSql(
      `alter table "dataset" add constraint "dataset_format_check" check ("format" in ('coco', 'yolo', 'dice', 'imagefolder'));`,
    );
    this.addSql(
      `alter table "dataset" add constraint "dataset_visibility_check" check ("visibility" in ('public', 'private', 'organization'));`,
    );

    this.addSql(
      `alter table "dataset_permission" add constraint "dataset_permission_role_check" check ("role" in ('owner', 'editor', 'viewer'));`,
    );

    this.addSql(
      `alter table "dataset_version" add constraint "dataset_version_archive_status_check" check ("archive_status" in ('none', 'building', 'ready', 'failed'));`,
    );

    this.addSql(
      `alter table "idempotency_key" add constraint "idempotency_key_state_check" check ("state" in ('in_progress', 'completed'));`,
    );

    this.addSql(
      `alter table "job" add constraint "job_queue_check" check ("queue" in ('critical', 'high', 'default', 'low', 'storage'));`,
    );
    this.addSql(
      `alter table "job" add constraint "job_state_check" check ("state" in ('queued', 'in_progress', 'completed', 'failed', 'cancelled'));`,
    );

    this.addSql(
      `alter table "membership" add constraint "membership_role_check" check ("role" in ('admin', 'member'));`,
    );

    this.addSql(
      `alter table "plugin_instance" add constraint "plugin_instance_kind_check" check ("kind" in ('storage', 'annotation-backend', 'auth', 'dataset-connector'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "admin_session" cascade;`);
    this.addSql(`drop table if exists "admin_user" cascade;`);
    this.addSql(`drop table if exists "annotation" cascade;`);
    this.addSql(`drop table if exists "annotation_project" cascade;`);
    this.addSql(`drop table if exists "annotation_task_link" cascade;`);
    this.addSql(`drop table if exists "audit_event" cascade;`);
    this.addSql(`drop table if exists "dataset" cascade;`);
    this.addSql(`drop table if exists "dataset_file" cascade;`);
    this.addSql(`drop table if exists "dataset_permission" cascade;`);
    this.addSql(`drop table if exists "dataset_sample" cascade;`);
    this.addSql(`drop table if exists "dataset_version" cascade;`);
    this.addSql(`drop table if exists "idempotency_key" cascade;`);
    this.addSql(`drop table if exists "job" cascade;`);
    this.addSql(`drop table if exists "membership" cascade;`);
    this.addSql(`drop table if exists "organization" cascade;`);
    this.addSql(`drop table if exists "platform_user" cascade;`);
    this.addSql(`drop table if exists "plugin_instance" cascade;`);
    this.addSql(`drop table if exists "rate_limit_counter" cascade;`);
    this.addSql(`drop table if exists "service_account" cascade;`);
  }
}
