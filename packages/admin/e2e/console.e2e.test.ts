/**
 * The console end to end: Debian Chromium (playwright-core) against the real server on PostgreSQL, the
 * Label Studio simulator and the S3 test server. One signed-in browser walks the admin's main tasks in
 * order; screenshots of the main pages go to test-artifacts/console/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '@labeler/plugin-labelstudio/simulator';
import { type S3TestServer, startS3TestServer } from '@labeler/plugin-r2/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ARTIFACTS = resolve(root, '../../test-artifacts/console');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('admin console (browser)', () => {
  let sim: LabelStudioSimulator;
  let s3: S3TestServer;
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let apiKey = '';
  let datasetId = '';
  /**
   * Every answer ≥ 400 the console's page receives and every error on its browser console. A step that
   * makes a call fail on purpose claims exactly those calls (expectFailedCalls); anything left over at the
   * end is a real failure.
   */
  const failedCalls: string[] = [];
  const consoleErrors: Array<{ text: string; url: string }> = [];
  const pathOf = (url: string) => new URL(url).pathname;
  /** Waits for exactly `expected` failed calls (`METHOD /path status`) and takes them and their console lines. */
  const expectFailedCalls = async (expected: string[]) => {
    await expect.poll(() => failedCalls.slice()).toEqual(expected);
    failedCalls.length = 0;
    // Chromium logs "Failed to load resource: … status of N" for each, located at the call's URL.
    for (const call of expected) {
      const line = () =>
        consoleErrors.findIndex(
          (e) => e.text.startsWith('Failed to load resource') && pathOf(e.url) === call.split(' ')[1],
        );
      await expect.poll(line, { message: `console line of ${call}` }).toBeGreaterThanOrEqual(0);
      consoleErrors.splice(line(), 1);
    }
  };

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const nav = (name: string) =>
    page.locator('nav#primary-nav').getByRole('link', { name, exact: true }).click();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `No Chromium at ${CHROMIUM}: run "apt-get install -y chromium" (Debian) or set CHROMIUM_PATH.`,
      );
    mkdirSync(ARTIFACTS, { recursive: true });
    [sim, s3] = await Promise.all([startLabelStudioSimulator(), startS3TestServer()]);
    server = await startTestServer({ env: { LABELER_CONSOLE_DIR: join(root, 'dist') } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-US' });
    page = await context.newPage();
    page.on('response', (response) => {
      if (response.status() >= 400)
        failedCalls.push(`${response.request().method()} ${pathOf(response.url())} ${response.status()}`);
    });
    page.on('console', (message) => {
      if (message.type() === 'error')
        consoleErrors.push({ text: message.text(), url: message.location().url });
    });
    page.setDefaultTimeout(15_000);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await Promise.all([sim?.stop(), s3?.close()]);
  });

  it('serves the console and signs the admin in', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Labeler' }).isVisible()).toBe(true);
    await shot('01-sign-in');
    await page.getByLabel('Email').fill(server.adminEmail);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').first().waitFor();
    await expectFailedCalls(['POST /trpc/auth.signIn 401']);
    await page.getByLabel('Password').fill(server.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Service accounts', level: 1 }).waitFor();
    expect(await page.getByText(server.adminEmail).isVisible()).toBe(true);
  });

  it('creates a service account whose key is shown once and works against /api/v1', async () => {
    await page.getByRole('button', { name: 'New service account' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('platform-e2e');
    expect(await dialog.getByRole('checkbox', { name: /datasets:read/ }).isChecked()).toBe(true);
    await dialog.getByRole('checkbox', { name: /datasets:download/ }).check();
    await dialog.getByRole('button', { name: 'Create' }).click();
    const key = page.getByTestId('api-key');
    await key.waitFor();
    apiKey = await key.inputValue();
    expect(apiKey.length).toBeGreaterThan(20);
    expect(await page.getByText('You will not see it again').isVisible()).toBe(true);
    await shot('02-service-account-key');
    await page.getByRole('button', { name: 'I have stored the key' }).click();
    const row = page.getByTestId('sa-row-platform-e2e');
    await row.waitFor();
    expect(await row.textContent()).toContain('datasets:download');
    expect(await row.textContent()).toContain(apiKey.slice(0, 8));

    const res = await fetch(`${server.url}/api/v1/datasets`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(res.status).toBe(200);
    // Usage counters are flushed in batches; flush now instead of waiting, then reload the list.
    await server.services.serviceAccounts.flushUsage();
    await page.reload();
    await expect
      .poll(async () => (await page.getByTestId('sa-row-platform-e2e').textContent()) ?? '')
      .toMatch(/1 request/);
    await shot('03-service-accounts');
  });

  it('revokes the service account after confirmation and the key is refused', async () => {
    const row = page.getByTestId('sa-row-platform-e2e');
    await row.getByRole('button', { name: /Revoke/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('This cannot be undone').waitFor();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(async () => (await row.textContent()) ?? '').toContain('Revoked');
    const res = await fetch(`${server.url}/api/v1/datasets`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(res.status).toBe(401);
  });

  it('adds a Label Studio connection from its schema form and tests it', async () => {
    await nav('Connections');
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Add connection' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Plugin').selectOption('label-studio');
    await dialog.getByLabel('Connection name').fill('Label Studio sim');
    await dialog.locator('[data-field="url"]').fill(sim.url);
    const secret = dialog.locator('[data-field="apiKey"]');
    expect(await secret.getAttribute('type')).toBe('password');
    // A rejected token: the diagnosis says so.
    await secret.fill('0'.repeat(40));
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    const result = dialog.getByTestId('test-result');
    await result.waitFor();
    expect(await result.textContent()).not.toContain('Healthy');
    await secret.fill(sim.legacyToken);
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await expect
      .poll(async () => (await dialog.getByTestId('test-result').textContent()) ?? '', { timeout: 20_000 })
      .toContain('Healthy');
    await shot('04-connection-test');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const row = page.getByTestId('connection-Label Studio sim');
    await row.waitFor();
    // Editing shows the stored secret as "set" and never its value.
    await row.getByRole('button', { name: /Edit/ }).click();
    const edit = page.getByRole('dialog');
    expect(await edit.getByText('Secret: set').isVisible()).toBe(true);
    expect(await edit.locator('[data-field="apiKey"]').inputValue()).toBe('');
    await edit.getByRole('button', { name: 'Cancel' }).click();

    // Storage on the S3 test server: every field of its ready-made config goes through the generated form.
    await page.getByRole('button', { name: 'Add connection' }).click();
    const r2 = page.getByRole('dialog');
    await r2.getByLabel('Plugin').selectOption('r2');
    await r2.getByLabel('Connection name').fill('S3 test server');
    for (const [field, value] of Object.entries(s3.pluginConfig)) {
      const input = r2.locator(`[data-field="${field}"]`);
      if (typeof value === 'boolean') await input.setChecked(value);
      else await input.fill(String(value));
    }
    await r2.getByRole('button', { name: 'Test connection' }).click();
    await expect
      .poll(async () => (await r2.getByTestId('test-result').textContent()) ?? '', { timeout: 20_000 })
      .toContain('Healthy');
    await r2.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('connection-S3 test server').waitFor();
    expect(await page.getByTestId('connection-S3 test server').textContent()).toContain('Storage');
    await shot('05-connections');
  });

  it('creates a dataset and shows its detail', async () => {
    await nav('Datasets');
    await page.getByRole('button', { name: 'New dataset' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('pets-e2e');
    await dialog.getByLabel('Owner (Platform user id)').fill('1');
    await dialog.getByLabel('Visibility').selectOption('public');
    await dialog.getByLabel('Class names').fill('cat, dog');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'pets-e2e', level: 1 }).waitFor();
    datasetId = /#\/datasets\/(ds_[0-9a-f]+)/.exec(page.url())?.[1] ?? '';
    expect(datasetId).toMatch(/^ds_/);
    // Samples arrive through connectors/imports in real use; seed twelve directly.
    const em = server.services.orm.em.fork();
    const sampleEntity = [...server.services.orm.getMetadata().getAll().values()].find(
      (m) => m.className === 'DatasetSample',
    )?.class;
    if (!sampleEntity) throw new Error('DatasetSample entity is not registered');
    for (let i = 0; i < 12; i++) {
      em.create(sampleEntity, {
        datasetId,
        id: `smp_${String(i).padStart(4, '0')}`,
        filepath: `images/${i}.jpg`,
        width: 100,
        height: 100,
        labels: {},
      });
    }
    await em.flush();
    await page.getByRole('heading', { name: 'Who can access and why' }).waitFor();
    await page.getByLabel('Check a user').fill('1');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect
      .poll(async () => (await page.getByTestId('access-result').textContent()) ?? '')
      .toContain('owns the dataset');

    // Download URL: the first request may start the archive build (job progress shown), then the URL is issued.
    const download = page.getByRole('region', { name: 'Download URL' });
    await download.getByRole('button', { name: 'Issue URL' }).click();
    await expect
      .poll(async () => /expires|Completed/.test((await download.textContent()) ?? ''), { timeout: 30_000 })
      .toBe(true);
    if (!((await download.textContent()) ?? '').includes('expires'))
      await download.getByRole('button', { name: 'Issue URL' }).click();
    await expect
      .poll(async () => (await download.textContent()) ?? '', { timeout: 15_000 })
      .toContain('expires');
    expect(await download.getByRole('textbox', { name: /Download URL/ }).inputValue()).toMatch(/^http/);
    await shot('06-dataset-detail');

    await nav('Datasets');
    await page.getByLabel('Search').fill('pets');
    await expect.poll(() => page.url()).toContain('search=pets');
    await page.getByRole('link', { name: 'pets-e2e' }).waitFor();
    await page.getByLabel('Search').fill('no-such-dataset');
    await page.getByText('No datasets match.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('link', { name: 'pets-e2e' }).waitFor();
    await shot('07-datasets');
  });

  it('creates an annotation project from the dataset, imports tasks and opens the launch link', async () => {
    await page.getByRole('link', { name: 'pets-e2e' }).click();
    await page.getByRole('link', { name: 'New annotation project' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByLabel('Project name').inputValue()).toBe('pets-e2e');
    expect(await dialog.getByLabel('Label schema').inputValue()).toBe('cat\ndog');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const card = page.getByTestId('project-pets-e2e');
    await card.waitFor();
    await expect
      .poll(async () => (await card.textContent()) ?? '', { timeout: 20_000 })
      .toContain('Label Studio #');

    await card.getByRole('button', { name: 'Validate' }).click();
    await expect
      .poll(async () => (await card.getByTestId('validation').textContent()) ?? '')
      .toContain('Ready');

    await card.getByRole('button', { name: 'Import tasks' }).click();
    await expect
      .poll(async () => card.getByTestId('task-count').textContent(), { timeout: 30_000 })
      .toBe('12');
    await expect
      .poll(async () => card.locator('[data-testid^="job-"]').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('completed');
    await shot('08-project-imported');

    const [popup] = await Promise.all([
      context.waitForEvent('page'),
      card.getByRole('button', { name: /Open in Label Studio/ }).click(),
    ]);
    await popup.waitForURL((url) => url.toString().startsWith(sim.url), { timeout: 15_000 });
    expect(popup.url()).toMatch(/\/projects\/\d+/);
    await popup.close();
  });

  it('pulls annotations and the progress bar updates', async () => {
    const listed = await server.request('/api/v1/label-studio/projects');
    const externalId = Number(
      (listed.body as { projects: Array<{ external_id: string }> }).projects[0]?.external_id,
    );
    const tasks = sim.state.projectTasks.get(externalId) ?? [];
    expect(tasks).toHaveLength(12);
    for (const task of tasks.slice(0, 5)) {
      sim.state.insertAnnotation(task, {
        result: [
          {
            id: `r${task.id}`,
            from_name: 'label',
            to_name: 'image',
            type: 'rectanglelabels',
            original_width: 100,
            original_height: 100,
            image_rotation: 0,
            value: { x: 1, y: 1, width: 10, height: 10, rotation: 0, rectanglelabels: ['cat'] },
          },
        ],
      });
    }
    const card = page.getByTestId('project-pets-e2e');
    const bar = card.getByRole('progressbar').first();
    expect(await bar.getAttribute('aria-valuenow')).toBe('0');
    await card.getByRole('button', { name: 'Pull annotations' }).click();
    await expect
      .poll(async () => card.getByTestId('annotation-count').textContent(), { timeout: 30_000 })
      .toBe('5');
    await expect.poll(() => bar.getAttribute('aria-valuenow')).toBe('5');
    expect(await card.textContent()).toContain('5 / 12');
    await shot('09-projects');
  });

  it('explains a rejected Label Studio token with what to do', async () => {
    await nav('Connections');
    const row = page.getByTestId('connection-Label Studio sim');
    await row.getByRole('button', { name: /Edit/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('[data-field="apiKey"]').fill('f'.repeat(40));
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await nav('Annotation projects');
    const card = page.getByTestId('project-pets-e2e');
    await card.getByRole('button', { name: 'Set up in backend' }).click();
    const alert = card.getByRole('alert');
    await expect
      .poll(async () => (await alert.textContent()) ?? '', { timeout: 20_000 })
      .toContain('BACKEND_AUTH_FAILED');
    expect(await alert.textContent()).toContain('Access Token');
    await expectFailedCalls(['POST /trpc/annotation.ensure 502']);
    await shot('10-token-rejected');

    // Put the right token back (blank secret = keep; here we replace it).
    await nav('Connections');
    await row.getByRole('button', { name: /Edit/ }).click();
    await page.getByRole('dialog').locator('[data-field="apiKey"]').fill(sim.legacyToken);
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  });

  it('lists the jobs with their final state', async () => {
    await nav('Jobs');
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const table = page.getByRole('table');
    await expect.poll(async () => (await table.textContent()) ?? '').toContain('annotation.pull');
    expect(await table.textContent()).toContain('annotation.import');
    expect(await table.textContent()).toContain('Completed');
    await shot('11-jobs');
  });

  it('shows the audit log with filters', async () => {
    await nav('Audit log');
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByLabel('Action starts with').fill('service_account');
    await page.getByRole('button', { name: 'Apply' }).click();
    const table = page.getByRole('table');
    await expect.poll(async () => (await table.textContent()) ?? '').toContain('service_account.revoked');
    expect(await table.textContent()).not.toContain('admin.signed_in');
    await shot('12-audit');
  });

  it('switches the language, localises dates and remembers the choice', async () => {
    await nav('Service accounts');
    await page.getByRole('heading', { name: 'Service accounts', level: 1 }).waitFor();
    await page.getByLabel('Language').selectOption('ko');
    await page.getByRole('heading', { name: '서비스 계정', level: 1 }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ko');
    // Korean dates: "2026. 11. 21." style from Intl.
    expect(await page.getByRole('table').textContent()).toMatch(/\d{4}\. \d{1,2}\. \d{1,2}\./);
    await shot('13-korean');
    await page.reload();
    await page.getByRole('heading', { name: '서비스 계정', level: 1 }).waitFor();
    const session = await page.evaluate(async () => (await fetch('/trpc/auth.session')).json());
    expect(JSON.stringify(session)).toContain('"locale":"ko"');

    await page.getByLabel('언어').selectOption('zh');
    await page.getByRole('heading', { name: '服务账号', level: 1 }).waitFor();
    await nav('数据集');
    await page.getByRole('heading', { name: '数据集', level: 1 }).waitFor();
    await shot('14-chinese');
    await page.getByLabel('语言').selectOption('en');
    await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();
  });

  it('works at tablet width with a menu button', async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.waitFor();
    expect(await page.locator('nav#primary-nav').isVisible()).toBe(false);
    await menu.click();
    await nav('Annotation projects');
    await page.getByRole('heading', { name: 'Annotation projects', level: 1 }).waitFor();
    await shot('15-tablet-projects');
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Labeler' }).waitFor();
    // Calls that failed on purpose were claimed by their steps: any other failure or console error is a bug.
    expect({ failedCalls, consoleErrors }).toEqual({ failedCalls: [], consoleErrors: [] });
  });
});
