import {
  type AnnotationBackendInstance,
  type BackendAnnotation,
  type BackendDiagnosis,
  type BackendProject,
  type BackendStorage,
  type BackendTask,
  healthy,
  LabelerError,
  type LabelSchema,
  type TaskInput,
} from '@labeler/core';

/**
 * A tiny in-memory stand-in for the annotation-backend contract: enough for preflight/push/pull unit tests.
 * It stores tasks with their sampleId and lets tests add annotations as an annotator would.
 */
export class FakeBackend implements AnnotationBackendInstance {
  projects = new Map<string, BackendProject>();
  tasks = new Map<string, BackendTask & { projectId: string; predictions: TaskInput['predictions'] }>();
  storages: BackendStorage[] = [];
  diagnosis: BackendDiagnosis = {
    ok: true,
    version: '1.20.0',
    edition: 'community',
    user: { id: 1 },
    tokenKind: 'legacy',
    checks: [],
  };
  diagnoseError: Error | null = null;
  importCalls: TaskInput[][] = [];
  /** Makes the n-th importTasks call throw, to simulate an interrupted push. */
  failOnImportCall: number | null = null;
  private nextTask = 1;
  private nextProject = 1;

  async health() {
    return healthy();
  }
  async dispose() {}
  async diagnose() {
    if (this.diagnoseError) throw this.diagnoseError;
    return this.diagnosis;
  }
  buildLabelConfig(schema: LabelSchema): string {
    const tag = {
      rectangle: 'RectangleLabels',
      polygon: 'PolygonLabels',
      keypoint: 'KeyPointLabels',
      brush: 'BrushLabels',
      choices: 'Choices',
    } as const;
    const controls = schema.controls.map((c) => {
      const child = c.type === 'choices' ? 'Choice' : 'Label';
      return `  <${tag[c.type]} name="${c.name}" toName="image"${c.type === 'choices' ? ` choice="${c.multiple ? 'multiple' : 'single-radio'}"` : ''}>\n${c.labels.map((l) => `    <${child} value="${l.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"/>`).join('\n')}\n  </${tag[c.type]}>`;
    });
    return `<View>\n  <Image name="image" value="$image"/>\n${controls.join('\n')}\n</View>`;
  }
  async validateLabelConfig() {}
  async ensureProject(input: { externalId?: string | null; title: string; labelConfig: string }) {
    const byId = input.externalId ? this.projects.get(input.externalId) : undefined;
    const byTitle = [...this.projects.values()].find((p) => p.title === input.title);
    const found = byId ?? byTitle;
    if (found) return { project: found, created: false, adopted: true };
    const id = String(this.nextProject++);
    const project: BackendProject = {
      externalId: id,
      title: input.title,
      taskCount: 0,
      annotationCount: 0,
      url: `http://ls/projects/${id}`,
      labelConfig: input.labelConfig,
    };
    this.projects.set(id, project);
    return { project, created: true, adopted: false };
  }
  addProject(title: string, labelConfig: string): string {
    const id = String(this.nextProject++);
    this.projects.set(id, { externalId: id, title, taskCount: 0, annotationCount: 0, url: '', labelConfig });
    return id;
  }
  async getProject(id: string) {
    return this.projects.get(id) ?? null;
  }
  async validateProject() {
    return { exists: true, accessible: true, taskCount: 0, annotationCount: 0, status: 'ready' as const };
  }
  async deleteProject(id: string) {
    this.projects.delete(id);
  }
  async importTasks(projectId: string, tasks: TaskInput[]) {
    if (!this.projects.has(projectId)) throw new LabelerError('BACKEND_NOT_FOUND', `no project ${projectId}`);
    if (this.failOnImportCall !== null && this.importCalls.length + 1 === this.failOnImportCall) {
      this.failOnImportCall = null;
      throw new LabelerError('BACKEND_UNAVAILABLE', 'simulated outage');
    }
    this.importCalls.push(tasks);
    const ids: string[] = [];
    for (const t of tasks) {
      const id = String(this.nextTask++);
      this.tasks.set(id, {
        projectId,
        externalTaskId: id,
        sampleId: t.sampleId,
        data: t.data,
        meta: { ...(t.meta ?? {}) },
        isLabeled: false,
        annotations: [],
        predictions: t.predictions,
      });
      ids.push(id);
    }
    return { created: tasks.length, taskIds: ids };
  }
  async *listTaskRefs(projectId: string) {
    for (const t of this.tasks.values())
      if (t.projectId === projectId) yield { externalTaskId: t.externalTaskId, sampleId: t.sampleId };
  }
  async *iterateTasks(projectId: string, options: { onlyAnnotated?: boolean } = {}) {
    for (const t of this.tasks.values()) {
      if (t.projectId !== projectId) continue;
      if (options.onlyAnnotated && t.annotations.length === 0) continue;
      const { projectId: _p, predictions: _r, ...task } = t;
      yield structuredClone(task);
    }
  }
  async getTask(_projectId: string, id: string) {
    return this.tasks.get(id) ?? null;
  }
  async clearTasks(projectId: string) {
    let n = 0;
    for (const [id, t] of this.tasks) if (t.projectId === projectId && this.tasks.delete(id)) n++;
    return n;
  }
  async setupStorage() {
    return { storageId: '1', created: true };
  }
  async listStorages() {
    return this.storages;
  }
  async registerWebhook() {
    return { webhookId: '1', created: true };
  }
  projectUrl(id: string) {
    return `http://ls/projects/${id}`;
  }

  /** Test helper: an annotator submits (or cancels) an annotation on the task of a sample. */
  annotate(sampleId: string, result: unknown[], options: Partial<BackendAnnotation> = {}): void {
    const task = [...this.tasks.values()].find((t) => t.sampleId === sampleId);
    if (!task) throw new Error(`no task for ${sampleId}`);
    const n = task.annotations.length + 1;
    task.annotations.push({
      externalId: `${task.externalTaskId}-${n}`,
      result,
      wasCancelled: false,
      groundTruth: false,
      completedBy: 1,
      createdAt: `2026-01-0${n}T00:00:00Z`,
      updatedAt: `2026-01-0${n}T00:00:00Z`,
      ...options,
    });
    task.isLabeled = task.annotations.some((a) => !a.wasCancelled);
  }
  predictionsOf(sampleId: string): unknown[] {
    return [...this.tasks.values()].find((t) => t.sampleId === sampleId)?.predictions?.[0]?.result ?? [];
  }
}
