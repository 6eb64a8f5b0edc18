import { defineEntity, p } from '@mikro-orm/core';
import { DATASET_ROLES } from '@labeler/core';

export const DatasetPermissionSchema = defineEntity({
  name: 'DatasetPermission',
  tableName: 'dataset_permission',
  uniques: [{ properties: ['datasetId', 'userId'] }],
  indexes: [{ properties: ['userId'] }],
  properties: {
    id: p.string().primary(),
    datasetId: p.string(),
    userId: p.integer(),
    role: p.enum(DATASET_ROLES),
    grantedBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class DatasetPermission extends DatasetPermissionSchema.class {}
DatasetPermissionSchema.setClass(DatasetPermission);
