import { runDatasetConnectorConformance } from '@labeler/core/testing';
import { createFiftyOneConnector } from '../src/index.js';
import {
  cocoFixture,
  fiftyOneDetectionFixture,
  fiftyOneFixture,
  imageFolderFixture,
  yoloFixture,
} from './fixtures.js';

runDatasetConnectorConformance({
  name: 'fiftyone',
  create: async () => createFiftyOneConnector(),
  formats: [
    { format: 'fiftyone', buildFixture: fiftyOneFixture },
    { format: 'fiftyone-image-detection', buildFixture: fiftyOneDetectionFixture, preservesLabelIds: false },
    { format: 'coco', buildFixture: cocoFixture },
    {
      format: 'yolo',
      buildFixture: yoloFixture,
      preservesLabelIds: false,
      preservesSampleIdsOnExport: false,
    },
    {
      format: 'imagefolder',
      buildFixture: imageFolderFixture,
      preservesSampleIdsOnRelabel: false,
      preservesSampleIdsOnExport: false,
    },
  ],
});
