import { fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { I18nextProvider } from 'react-i18next';
import { describe, expect, it } from 'vitest';
import {
  type FormValues,
  initialValues,
  type JsonSchema,
  SchemaForm,
  toConfig,
} from '../src/components/SchemaForm.js';
import { createI18n } from '../src/i18n/index.js';

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['url', 'apiKey'],
  properties: {
    url: { type: 'string', format: 'uri', description: 'Base URL' },
    apiKey: { type: 'string', writeOnly: true },
    timeoutMs: { type: 'integer', default: 60000 },
    verbose: { type: 'boolean', default: false },
    mode: { type: 'string', enum: ['fast', 'safe'] },
    region: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    auth: { type: 'object', properties: { user: { type: 'string' }, password: { type: 'string' } } },
  },
};
const SECRETS = new Set(['apiKey', 'auth.password']);

describe('schema form values', () => {
  it('starts from the stored config and defaults, never from secrets', () => {
    const values = initialValues(SCHEMA, { url: 'http://ls:8080', auth: { user: 'bot' } }, SECRETS);
    expect(values).toEqual({
      url: 'http://ls:8080',
      apiKey: '',
      timeoutMs: '60000',
      verbose: false,
      mode: '',
      region: '',
      auth: { user: 'bot', password: '' },
    });
  });

  it('turns form values into config: numbers parsed, blanks (kept secrets) left out, nested objects kept', () => {
    const values: FormValues = {
      url: 'http://ls',
      apiKey: '',
      timeoutMs: '1500',
      verbose: true,
      mode: 'safe',
      region: '',
      auth: { user: 'bot', password: 's3cret' },
    };
    expect(toConfig(SCHEMA, values)).toEqual({
      url: 'http://ls',
      timeoutMs: 1500,
      verbose: true,
      mode: 'safe',
      auth: { user: 'bot', password: 's3cret' },
    });
  });

  it('leaves out an optional section left at its defaults, and keeps it once a field is filled in', () => {
    const schema: JsonSchema = {
      type: 'object',
      required: ['url'],
      properties: {
        url: { type: 'string' },
        mount: {
          type: 'object',
          required: ['host_root'],
          properties: {
            host_root: { type: 'string' },
            prefix: { type: 'string', default: '/data/local-files/?d=' },
          },
        },
      },
    };
    const blank = initialValues(schema, {}, new Set());
    expect(blank.mount).toEqual({ host_root: '', prefix: '/data/local-files/?d=' });
    expect(toConfig(schema, { ...blank, url: 'http://ls' })).toEqual({ url: 'http://ls' });
    const filled = {
      ...blank,
      url: 'http://ls',
      mount: { host_root: '/data', prefix: '/data/local-files/?d=' },
    };
    expect(toConfig(schema, filled)).toEqual({
      url: 'http://ls',
      mount: { host_root: '/data', prefix: '/data/local-files/?d=' },
    });
  });

  it('keeps an unparsable number as text so the server reports it', () => {
    expect(toConfig(SCHEMA, { timeoutMs: 'soon' })).toEqual({ timeoutMs: 'soon' });
  });
});

function Harness({ secretsSet }: { secretsSet: Record<string, boolean> }) {
  const [values, setValues] = useState<FormValues>(() => initialValues(SCHEMA, {}, SECRETS));
  return (
    <I18nextProvider i18n={createI18n('en')}>
      <SchemaForm
        schema={SCHEMA}
        values={values}
        onChange={setValues}
        secretPaths={SECRETS}
        secretsSet={secretsSet}
        idPrefix="f"
        errors={{ 'config.url': 'must be a URL' }}
      />
      <output data-testid="config">{JSON.stringify(toConfig(SCHEMA, values))}</output>
    </I18nextProvider>
  );
}

describe('<SchemaForm>', () => {
  it('renders secrets as write-only password inputs with their stored state', () => {
    render(<Harness secretsSet={{ apiKey: true }} />);
    const key = screen.getByLabelText(/Api Key/) as HTMLInputElement;
    expect(key.type).toBe('password');
    expect(key.value).toBe('');
    expect(screen.getByText('Secret: set')).toBeTruthy();
    expect(screen.getByText('Secret: not set')).toBeTruthy(); // auth.password
    expect(screen.getByText('Leave blank to keep the stored value.')).toBeTruthy();
  });

  it('renders each type with a label and reports field errors', () => {
    render(<Harness secretsSet={{}} />);
    expect((screen.getByLabelText(/Url/) as HTMLInputElement).type).toBe('url');
    expect((screen.getByLabelText(/Timeout Ms/) as HTMLInputElement).type).toBe('number');
    expect((screen.getByLabelText('Verbose') as HTMLInputElement).type).toBe('checkbox');
    expect(screen.getByLabelText('Mode').tagName).toBe('SELECT');
    expect(screen.getByRole('group', { name: 'Auth' })).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toBe('must be a URL');
  });

  it('does not make the browser require the fields of an optional section', () => {
    const schema: JsonSchema = {
      type: 'object',
      required: ['url'],
      properties: {
        url: { type: 'string' },
        mount: { type: 'object', required: ['host_root'], properties: { host_root: { type: 'string' } } },
      },
    };
    render(
      <I18nextProvider i18n={createI18n('en')}>
        <SchemaForm
          schema={schema}
          values={initialValues(schema, {}, new Set())}
          onChange={() => undefined}
          secretPaths={new Set()}
          secretsSet={{}}
          idPrefix="o"
          errors={{}}
        />
      </I18nextProvider>,
    );
    expect((screen.getByLabelText(/Url/) as HTMLInputElement).required).toBe(true);
    expect((screen.getByLabelText(/Host root/) as HTMLInputElement).required).toBe(false);
  });

  it('edits nested values', () => {
    render(<Harness secretsSet={{}} />);
    fireEvent.change(screen.getByLabelText('User'), { target: { value: 'alice' } });
    fireEvent.click(screen.getByLabelText('Verbose'));
    fireEvent.change(screen.getByLabelText('Mode'), { target: { value: 'fast' } });
    expect(JSON.parse(screen.getByTestId('config').textContent ?? '{}')).toEqual({
      timeoutMs: 60000,
      verbose: true,
      mode: 'fast',
      auth: { user: 'alice' },
    });
  });
});
