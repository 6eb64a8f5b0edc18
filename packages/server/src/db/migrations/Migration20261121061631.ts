import { Migration } from '@mikro-orm/migrations';

export class Migration20261121061631 extends Migration {
  override name = 'Migration20261121061631';

  override up(): void | Promise<void> {
    this.addSql(`drop index "dataset_created_at_index";`);
    this.addSql(`drop index "dataset_visibility_created_at_index";`);
    this.addSql(
      `create index "dataset_visibility_created_at_id_index" on "dataset" ("visibility", "created_at", "id");`,
    );
    this.addSql(`create index "dataset_created_at_id_index" on "dataset" ("created_at", "id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "dataset_visibility_created_at_id_index";`);
    this.addSql(`drop index "dataset_created_at_id_index";`);
    this.addSql(`create index "dataset_created_at_index" on "dataset" ("created_at");`);
    this.addSql(
      `create index "dataset_visibility_created_at_index" on "dataset" ("visibility", "created_at");`,
    );
  }
}
