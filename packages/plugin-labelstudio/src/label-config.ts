/** Builds Label Studio label configs from Labeler's LabelSchema (one image, one control per schema entry). */
import { LabelerError, type LabelControl, type LabelSchema } from '@labeler/core';

/** The object tag every config has; tasks carry the image URL in `data.image`. */
export const IMAGE_OBJECT_NAME = 'image';
export const IMAGE_DATA_KEY = 'image';

const TAGS: Record<LabelControl['type'], { control: string; child: 'Label' | 'Choice' }> = {
  rectangle: { control: 'RectangleLabels', child: 'Label' },
  polygon: { control: 'PolygonLabels', child: 'Label' },
  keypoint: { control: 'KeyPointLabels', child: 'Label' },
  brush: { control: 'BrushLabels', child: 'Label' },
  choices: { control: 'Choices', child: 'Choice' },
};

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function buildLabelConfig(schema: LabelSchema): string {
  const names = new Set<string>([IMAGE_OBJECT_NAME]);
  const lines = ['<View>', `  <Image name="${IMAGE_OBJECT_NAME}" value="$${IMAGE_DATA_KEY}"/>`];
  for (const control of schema.controls) {
    if (names.has(control.name)) {
      throw new LabelerError(
        'LABEL_CONFIG_INVALID',
        `Control name "${control.name}" is used twice (the name "${IMAGE_OBJECT_NAME}" is reserved for the image).`,
        {
          details: { control: control.name },
        },
      );
    }
    names.add(control.name);
    const duplicate = control.labels.find((label, i) => control.labels.indexOf(label) !== i);
    if (duplicate !== undefined) {
      throw new LabelerError(
        'LABEL_CONFIG_INVALID',
        `Control "${control.name}" lists the label "${duplicate}" twice.`,
        { details: { control: control.name, label: duplicate } },
      );
    }
    const tag = TAGS[control.type];
    const extra = control.type === 'choices' ? ` choice="${control.multiple ? 'multiple' : 'single'}"` : '';
    lines.push(`  <${tag.control} name="${escapeXml(control.name)}" toName="${IMAGE_OBJECT_NAME}"${extra}>`);
    for (const label of control.labels) lines.push(`    <${tag.child} value="${escapeXml(label)}"/>`);
    lines.push(`  </${tag.control}>`);
  }
  lines.push('</View>');
  return lines.join('\n');
}
