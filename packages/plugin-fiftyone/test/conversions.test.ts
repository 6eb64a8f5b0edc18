import type {
  Classification,
  Classifications,
  Detections,
  Keypoints,
  LabelSchema,
  Polylines,
  Segmentation,
} from '@labeler/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelsToLsResults, lsResultsToLabels } from '../src/conversions/index.js';
import { binaryToRleMask } from '../src/conversions/rle.js';
import { expectClose } from './helpers.js';

const CLASSES = ['car', 'person', 'tree'];
const schema: LabelSchema = {
  controls: [
    { type: 'rectangle', name: 'ground_truth', labels: CLASSES },
    { type: 'polygon', name: 'polys', labels: CLASSES },
    { type: 'keypoint', name: 'kps', labels: CLASSES },
    { type: 'brush', name: 'seg', labels: CLASSES },
    { type: 'choices', name: 'weather', labels: ['sunny', 'rainy'] },
    { type: 'choices', name: 'tags', labels: ['a', 'b', 'c'], multiple: true },
  ],
};
const dims = { width: 640, height: 480 };

const id = fc.oneof(fc.stringMatching(/^[0-9a-f]{24}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/));
const unit = fc.double({ min: 0, max: 1, noNaN: true });
const conf = fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined });
const label = fc.constantFrom(...CLASSES);
const point = fc.tuple(unit, unit);

const detection = fc.record({
  _cls: fc.constant('Detection' as const),
  id,
  label,
  bounding_box: fc.tuple(unit, unit, unit, unit),
  rotation: fc.option(
    fc.double({ min: -359, max: 359, noNaN: true }).filter((r) => r !== 0),
    { nil: undefined },
  ),
  confidence: conf,
});
const polyline = fc.record({
  _cls: fc.constant('Polyline' as const),
  id,
  label,
  points: fc.array(fc.array(point, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
  closed: fc.boolean(),
  filled: fc.boolean(),
  confidence: conf,
});
const keypoint = fc.record({
  _cls: fc.constant('Keypoint' as const),
  id,
  label,
  points: fc.array(point, { minLength: 1, maxLength: 5 }),
  confidence: conf,
});

const strip = <T extends object>(o: T): T => JSON.parse(JSON.stringify(o)) as T;
const roundTrip = (labels: Record<string, unknown>) => {
  const results = labelsToLsResults(labels as never, schema, dims);
  // Results travel as JSON to and from LS.
  return lsResultsToLabels(strip(results), schema);
};

describe('label conversions round trip (labels → LS results → labels)', () => {
  it('rectanglelabels: Detections, rotation kept, ids exact', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(detection, { selector: (d) => d.id, minLength: 1, maxLength: 8 }),
        (dets) => {
          const value: Detections = { _cls: 'Detections', detections: dets };
          const back = roundTrip({ ground_truth: value });
          expectClose(back.ground_truth, strip(value));
        },
      ),
    );
  });

  it('polygonlabels: every shape, closed/filled and ids exact', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(polyline, { selector: (p) => p.id, minLength: 1, maxLength: 5 }),
        (lines) => {
          const value: Polylines = { _cls: 'Polylines', polylines: lines };
          expectClose(roundTrip({ polys: value }).polys, strip(value));
        },
      ),
    );
  });

  it('keypointlabels: multi-point keypoints regroup under their id in order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keypoint, { selector: (k) => k.id, minLength: 1, maxLength: 5 }), (kps) => {
        const value: Keypoints = { _cls: 'Keypoints', keypoints: kps };
        expectClose(roundTrip({ kps: value }).kps, strip(value));
      }),
    );
  });

  it('brushlabels: masks survive LS RLE exactly', () => {
    const mask = fc
      .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }))
      .chain(([h, w]) =>
        fc.tuple(
          fc.constant(h),
          fc.constant(w),
          fc.uint8Array({ minLength: h * w, maxLength: h * w, max: 1 }),
        ),
      );
    fc.assert(
      fc.property(id, label, mask, conf, (sid, l, [h, w, bits], c) => {
        const value: Segmentation = {
          _cls: 'Segmentation',
          id: sid,
          label: l,
          mask: binaryToRleMask(bits, h, w),
          ...(c === undefined ? {} : { confidence: c }),
        };
        const results = labelsToLsResults({ seg: value }, schema, dims);
        expect(results[0]).toMatchObject({ original_width: w, original_height: h, type: 'brushlabels' });
        expect(lsResultsToLabels(strip(results), schema).seg).toEqual(value);
      }),
    );
  });

  it('choices: single → Classification, multiple → Classifications, ids exact', () => {
    fc.assert(
      fc.property(id, fc.constantFrom('sunny', 'rainy'), conf, (cid, l, c) => {
        const value: Classification = {
          _cls: 'Classification',
          id: cid,
          label: l,
          ...(c === undefined ? {} : { confidence: c }),
        };
        expect(roundTrip({ weather: value }).weather).toEqual(value);
      }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id, label: fc.constantFrom('a', 'b', 'c') }), {
          selector: (x) => x.id,
          minLength: 2,
          maxLength: 3,
        }),
        (items) => {
          const value: Classifications = {
            _cls: 'Classifications',
            classifications: items.map((x) => ({ _cls: 'Classification' as const, ...x })),
          };
          expect(roundTrip({ tags: value }).tags).toEqual(value);
        },
      ),
    );
  });
});

describe('LS results → labels → LS results', () => {
  it('rectangles keep percent geometry, rotation and region ids', () => {
    const pctV = fc.double({ min: 0, max: 100, noNaN: true });
    fc.assert(
      fc.property(
        id,
        pctV,
        pctV,
        pctV,
        pctV,
        fc.double({ min: -180, max: 180, noNaN: true }),
        label,
        (rid, x, y, w, h, rot, l) => {
          const r = {
            id: rid,
            type: 'rectanglelabels',
            from_name: 'ground_truth',
            to_name: 'image',
            original_width: 640,
            original_height: 480,
            image_rotation: 0,
            value: { x, y, width: w, height: h, rotation: rot, rectanglelabels: [l] },
          };
          const labels = lsResultsToLabels([r], schema);
          const again = labelsToLsResults(labels, schema, dims);
          expectClose(again, [{ ...r, value: { ...r.value, rotation: rot === 0 ? 0 : rot } }], 1e-9);
        },
      ),
    );
  });
});

describe('LS-made regions regroup by part id', () => {
  it('polygon and keypoint parts <id>::<i> come back as one label, in index order, whatever the result order', () => {
    const pctV = fc.double({ min: 0, max: 100, noNaN: true });
    fc.assert(
      fc.property(
        id,
        fc.array(fc.tuple(pctV, pctV), { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        (kid, pts, seed) => {
          const parts = pts.map(([x, y], i) => ({
            id: `${kid}::${i}`,
            type: 'keypointlabels',
            from_name: 'kps',
            to_name: 'image',
            value: { x, y, keypointlabels: ['person'] },
          }));
          const shuffled = [...parts].sort(
            (a, b) =>
              ((a.id.length * 31 + seed) % 7) - ((b.id.length * 31 + seed) % 7) || (a.id < b.id ? 1 : -1),
          );
          const labels = lsResultsToLabels(shuffled, schema);
          expectClose(labels.kps, {
            _cls: 'Keypoints',
            keypoints: [
              { _cls: 'Keypoint', id: kid, label: 'person', points: pts.map(([x, y]) => [x / 100, y / 100]) },
            ],
          });
          const again = labelsToLsResults(labels, schema, dims);
          expect(again.map((r) => r.id)).toEqual(parts.map((p) => p.id));
        },
      ),
    );
  });
});

describe('conversion rules', () => {
  it('keeps the singular shape the sample already had', () => {
    const det = {
      _cls: 'Detection' as const,
      id: 'a1',
      label: 'car',
      bounding_box: [0.1, 0.2, 0.3, 0.4] as [number, number, number, number],
    };
    const results = labelsToLsResults({ ground_truth: det }, schema, dims);
    expectClose(lsResultsToLabels(results, schema, { like: { ground_truth: det } }).ground_truth, det);
    expect(lsResultsToLabels(results, schema).ground_truth?._cls).toBe('Detections');
  });

  it('maps fields without results to null and reports unknown result types', () => {
    const skipped: string[] = [];
    const out = lsResultsToLabels(
      [{ type: 'textarea', from_name: 'x', to_name: 'image', value: { text: ['hi'] } }],
      schema,
      { onSkip: (m) => skipped.push(m) },
    );
    expect(out.ground_truth).toBeNull();
    expect(Object.keys(out).sort()).toEqual(schema.controls.map((c) => c.name).sort());
    expect(skipped[0]).toMatch(/textarea/);
  });

  it('reports a label type its control cannot show', () => {
    const skipped: string[] = [];
    const results = labelsToLsResults({ weather: { _cls: 'Detections', detections: [] } }, schema, dims, {
      onSkip: (m) => skipped.push(m),
    });
    expect(results).toEqual([]);
    expect(skipped[0]).toMatch(/weather.*Detections/);
  });

  it('stamps from_name, to_name and original size; LS-made regions get ids kept', () => {
    const results = labelsToLsResults(
      {
        ground_truth: {
          _cls: 'Detections',
          detections: [{ _cls: 'Detection', id: 'x', label: 'car', bounding_box: [0, 0, 0.5, 0.5] }],
        },
      },
      schema,
      dims,
    );
    expect(results[0]).toMatchObject({
      from_name: 'ground_truth',
      to_name: 'image',
      original_width: 640,
      original_height: 480,
      id: 'x',
    });
    const lsMade = lsResultsToLabels(
      [
        {
          id: 'Ab3_x9',
          type: 'polygonlabels',
          from_name: 'polys',
          to_name: 'image',
          value: {
            points: [
              [10, 10],
              [20, 10],
              [20, 20],
            ],
            polygonlabels: ['tree'],
          },
        },
      ],
      schema,
    );
    expect(lsMade.polys).toMatchObject({
      _cls: 'Polylines',
      polylines: [{ id: 'Ab3_x9', closed: true, filled: true }],
    });
  });

  it('several brush regions become full-frame instance masks', () => {
    const mask = binaryToRleMask(new Uint8Array([1, 0, 0, 1]), 2, 2);
    const results = labelsToLsResults(
      {
        seg: {
          _cls: 'Detections',
          detections: [
            { _cls: 'Detection', id: 'm1', label: 'car', bounding_box: [0, 0, 1, 1], mask },
            { _cls: 'Detection', id: 'm2', label: 'tree', bounding_box: [0, 0, 1, 1], mask },
          ],
        },
      },
      schema,
      dims,
    );
    const back = lsResultsToLabels(results, schema);
    expect(back.seg).toMatchObject({
      _cls: 'Detections',
      detections: [
        { id: 'm1', mask },
        { id: 'm2', mask },
      ],
    });
  });
});
