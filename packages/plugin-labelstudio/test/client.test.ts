import {
  isLabelerError,
  type LabelerError,
  parsePluginConfig,
  redactSecrets,
  secretFieldPaths,
} from '@labeler/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelStudioConfigSchema } from '../src/config.js';
import { LabelStudioClient } from '../src/http.js';
import { labelStudioPlugin } from '../src/index.js';
import { whoamiSchema } from '../src/schemas.js';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '../src/simulator/index.js';
import { detectToken } from '../src/token.js';
import { backendFor, LABEL_CONFIG } from './helpers.js';

async function caught(promise: Promise<unknown>): Promise<LabelerError> {
  try {
    await promise;
  } catch (error) {
    if (isLabelerError(error)) return error;
    throw error;
  }
  throw new Error('expected a LabelerError');
}

const jwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('config and token detection', () => {
  it('marks apiKey secret and applies defaults', () => {
    expect(secretFieldPaths(labelStudioPlugin.configSchema)).toEqual(['apiKey']);
    const config = parsePluginConfig(labelStudioPlugin, { url: 'http://ls:8080/', apiKey: 'abc' });
    expect(config).toMatchObject({
      url: 'http://ls:8080',
      importBatchSize: 100,
      maxRetries: 4,
      timeoutMs: 60_000,
    });
    expect(redactSecrets(labelStudioPlugin, { url: 'x', apiKey: 'abc' })).toEqual({
      url: 'x',
      apiKey: '********',
    });
    expect(() => parsePluginConfig(labelStudioPlugin, { url: 'nope', apiKey: 'a' })).toThrow(/url/);
    expect(labelStudioPlugin).toMatchObject({
      id: 'label-studio',
      kind: 'annotation-backend',
      contractVersion: '1.0',
    });
  });

  it('detects legacy tokens, PATs, access tokens and unusable JWTs', () => {
    const future = Math.floor(Date.now() / 1000) + 3600;
    expect(detectToken('0123456789abcdef0123456789abcdef01234567').kind).toBe('legacy');
    expect(detectToken(jwt({ token_type: 'refresh', exp: future }))).toMatchObject({
      kind: 'personal_access_token',
      problem: null,
    });
    expect(detectToken(jwt({ token_type: 'access', exp: future })).kind).toBe('access_token');
    expect(detectToken(jwt({ token_type: 'refresh' })).problem).toMatch(/does not have an expiration/);
    expect(detectToken(jwt({ token_type: 'refresh', exp: 1 })).problem).toMatch(/expired/);
  });
});

describe('HTTP client against the simulator', () => {
  let sim: LabelStudioSimulator;
  beforeEach(async () => {
    sim = await startLabelStudioSimulator({ accessTokenTtlSeconds: 300 });
  });
  afterEach(async () => {
    await sim.stop();
  });

  it('exchanges a PAT once, reuses the access token, and refreshes + retries once on an expired one', async () => {
    const backend = backendFor(sim, { apiKey: sim.personalAccessToken });
    expect(backend.client.token.kind).toBe('personal_access_token');
    await Promise.all([backend.health(), backend.getProject('1'), backend.getProject('2')]);
    expect(sim.state.stats.tokenRefreshes).toBe(1); // single flight, cached
    sim.state.expireAccessTokens(); // the ~5 min expiry, server side
    const health = await backend.health();
    expect(health.status).toBe('healthy');
    expect(sim.state.stats.tokenRefreshes).toBe(2);
    expect((await backend.diagnose()).tokenKind).toBe('personal_access_token');
  });

  it('refreshes before expiry without a 401 round trip', async () => {
    await sim.stop();
    sim = await startLabelStudioSimulator({ accessTokenTtlSeconds: 1 });
    const backend = backendFor(sim, { apiKey: sim.personalAccessToken });
    await backend.health();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the refresh point (and the expiry)
    const before = sim.state.stats.requests;
    await backend.getProject('1');
    expect(sim.state.stats.tokenRefreshes).toBe(2);
    expect(sim.state.stats.requests - before).toBe(2); // refresh + the call, no 401
  });

  it('401 on a bad legacy token → BACKEND_AUTH_FAILED with a fix message', async () => {
    const backend = backendFor(sim, { apiKey: 'f'.repeat(40) });
    const error = await caught(backend.ensureProject({ title: 'x', labelConfig: LABEL_CONFIG }));
    expect(error.code).toBe('BACKEND_AUTH_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Invalid token.');
    expect(error.message).toMatch(/Fix: Copy the Access Token/);
    expect(error.details).toMatchObject({ status: 401, detail: 'Invalid token.', tokenKind: 'legacy' });
    expect(JSON.stringify(error.details)).not.toContain('f'.repeat(40));
  });

  it('legacy tokens disabled → named in diagnose and in the error fix', async () => {
    sim.state.settings.legacyApiTokensEnabled = false;
    const backend = backendFor(sim);
    const error = await caught(backend.getProject('1'));
    expect(error.code).toBe('BACKEND_AUTH_FAILED');
    expect(error.details.fix).toMatch(/Enable them .*Access Token Settings.*Personal Access Token/);
    const d = await backend.diagnose();
    expect(d.ok).toBe(false);
    expect(d.checks.find((c) => c.id === 'legacy-tokens-disabled')).toMatchObject({
      ok: false,
      fix: expect.stringContaining('Personal Access Token'),
    });
  });

  it('a refused PAT → BACKEND_AUTH_FAILED naming /api/token/refresh', async () => {
    sim.state.settings.apiTokensEnabled = false;
    const error = await caught(backendFor(sim, { apiKey: sim.personalAccessToken }).getProject('1'));
    expect(error.code).toBe('BACKEND_AUTH_FAILED');
    expect(error.message).toMatch(/Personal Access Token/);
  });

  it('LS 400 detail and validation_errors are preserved', async () => {
    const backend = backendFor(sim);
    const badConfig = await caught(
      backend.ensureProject({
        title: 'Bad',
        labelConfig:
          '<View><Image name="img" value="$image"/><Choices name="c" toName="nope"><Choice value="a"/></Choices></View>',
      }),
    );
    expect(badConfig.code).toBe('LABEL_CONFIG_INVALID');
    expect(badConfig.details).toMatchObject({
      status: 400,
      detail: 'Validation error',
      validationErrors: { label_config: [expect.stringContaining('toName="nope"')] },
    });
    expect(badConfig.message).toContain('toName="nope"');
    const malformed = await caught(
      backend.validateLabelConfig('<View><Image name="i" value="$i">', undefined),
    );
    expect(malformed.code).toBe('LABEL_CONFIG_INVALID');
    const { project } = await backend.ensureProject({ title: 'Good', labelConfig: LABEL_CONFIG });
    const rejected = await caught(
      backend.importTasks(project.externalId, [{ sampleId: 's', data: { other: 1 } }]),
    );
    expect(rejected.code).toBe('BACKEND_REJECTED');
    expect(rejected.details.validationErrors).toMatchObject({
      data: [expect.stringContaining('"image" key is expected')],
    });
    expect((await caught(backend.importTasks('999', [{ sampleId: 's', data: { image: 'a' } }]))).code).toBe(
      'BACKEND_NOT_FOUND',
    );
  });

  it('retries idempotent requests on 5xx/504/drops, but never resends a creating POST', async () => {
    const backend = backendFor(sim, { maxRetries: 10 });
    sim.faults.set({ errorRate: 0.2, dropRate: 0.1, statuses: [500, 502, 503, 504] });
    for (let i = 0; i < 20; i++) await backend.getProject('1');
    expect(backend.client.stats.retries).toBeGreaterThan(0);
    sim.faults.set({ errorRate: 1, statuses: [504], phase: 'after' });
    const { project } = { project: sim.state.createProject({ title: 'P', label_config: LABEL_CONFIG }) };
    const error = await caught(
      backend.importTasks(String(project.id), [{ sampleId: 's1', data: { image: 'a' } }]),
    );
    expect(error.code).toBe('BACKEND_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(sim.state.stats.importCalls).toBe(1); // sent once; LS committed it although the client saw 504
  });

  it('exhausted retries → BACKEND_UNAVAILABLE; unreachable host → BACKEND_UNAVAILABLE; timeouts → BACKEND_TIMEOUT', async () => {
    sim.faults.set({ errorRate: 1, statuses: [503] });
    const unavailable = await caught(backendFor(sim, { maxRetries: 2 }).getProject('1'));
    expect(unavailable).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
    sim.faults.set({ latencyMs: 500 });
    const slow = await caught(backendFor(sim, { maxRetries: 0, timeoutMs: 100 }).getProject('1'));
    expect(slow).toMatchObject({ code: 'BACKEND_TIMEOUT', retryable: true });
    sim.faults.clear();
    const down = await caught(
      createClient('http://127.0.0.1:9').request('GET', '/api/version/', whoamiSchema, { auth: false }),
    );
    expect(down.code).toBe('BACKEND_UNAVAILABLE');
  });

  it('a response of the wrong shape → BACKEND_REJECTED, never a crash', async () => {
    const client = new LabelStudioClient(
      labelStudioConfigSchema.parse({ url: sim.url, apiKey: sim.legacyToken }),
      {
        fetch: async () => new Response(JSON.stringify({ nope: true }), { status: 200 }),
      },
    );
    const error = await caught(client.request('GET', '/api/current-user/whoami/', whoamiSchema));
    expect(error.code).toBe('BACKEND_REJECTED');
    expect(error.details.issues).toBeDefined();
    const html = new LabelStudioClient(
      labelStudioConfigSchema.parse({ url: sim.url, apiKey: sim.legacyToken }),
      {
        fetch: async () => new Response('<html>proxy</html>', { status: 200 }),
      },
    );
    expect((await caught(html.request('GET', '/api/current-user/whoami/', whoamiSchema))).code).toBe(
      'BACKEND_REJECTED',
    );
  });
});

function createClient(url: string): LabelStudioClient {
  return new LabelStudioClient(
    labelStudioConfigSchema.parse({ url, apiKey: 'k', maxRetries: 1, retryBaseDelayMs: 1 }),
  );
}
