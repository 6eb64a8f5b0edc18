import { Migration } from '@mikro-orm/migrations';

/**
 * Audit events carry the organization they belong to, so an organization's admin reads only its own.
 * Existing rows are attributed from their target where it still exists (a dataset, its annotation
 * project, a service account, the organization itself); the rest stay platform-wide (null).
 */
export class Migration20261204192000 extends Migration {
  override name = 'Migration20261204192000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "audit_event" add column "organization_id" varchar(255) null;`);
    this.addSql(
      `create index "audit_event_organization_id_at_index" on "audit_event" ("organization_id", "at");`,
    );
    this.addSql(
      `update "audit_event" e set "organization_id" = d."organization_id" from "dataset" d where e."target_type" = 'dataset' and d."id" = e."target_id";`,
    );
    this.addSql(
      `update "audit_event" e set "organization_id" = d."organization_id" from "annotation_project" p join "dataset" d on d."id" = p."dataset_id" where e."target_type" = 'annotation_project' and p."id" = e."target_id";`,
    );
    this.addSql(
      `update "audit_event" e set "organization_id" = s."organization_id" from "service_account" s where e."target_type" = 'service_account' and s."id" = e."target_id";`,
    );
    this.addSql(
      `update "audit_event" e set "organization_id" = o."id" from "organization" o where e."target_type" = 'organization' and o."id" = e."target_id";`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "audit_event_organization_id_at_index";`);
    this.addSql(`alter table "audit_event" drop column "organization_id";`);
  }
}
