import { LabelerError } from '@labeler/core';
import { type CollectionResult, convert } from 'openapi-to-postmanv2';

/** The collection variable the Platform team fills with its service-account key. */
export const POSTMAN_KEY_VARIABLE = 'labeler_api_key';

interface PostmanAuth {
  type: string;
  bearer?: Array<{ key: string; value: string; type?: string }>;
}
interface PostmanItem {
  name?: string;
  item?: PostmanItem[];
  request?: { auth?: PostmanAuth | null; method?: string };
}
export interface PostmanCollection {
  info: { name: string; schema: string; [key: string]: unknown };
  item: PostmanItem[];
  auth?: PostmanAuth;
  variable?: Array<{ key: string; value: string; type?: string }>;
  [key: string]: unknown;
}

const BEARER: PostmanAuth = {
  type: 'bearer',
  bearer: [{ key: 'token', value: `{{${POSTMAN_KEY_VARIABLE}}}`, type: 'string' }],
};

/**
 * Requests authenticate the collection's way: the converter gives each protected request its own bearer
 * auth with `{{bearerToken}}`; removing it makes the request inherit the collection's `{{labeler_api_key}}`.
 * Requests the document marks public keep their own `noauth`.
 */
function inheritAuth(items: PostmanItem[]): void {
  for (const item of items) {
    if (item.item) inheritAuth(item.item);
    if (item.request?.auth?.type === 'bearer') delete item.request.auth;
  }
}

/**
 * A Postman Collection v2.1 of every operation of the OpenAPI document (openapi-to-postmanv2), folders by
 * tag, example values for parameters and bodies; `{{baseUrl}}` is the document's server URL.
 */
export async function buildPostmanCollection(openApi: Record<string, unknown>): Promise<PostmanCollection> {
  const converted = await new Promise<CollectionResult>((resolve, reject) => {
    // A copy: the converter resolves references in the document it is given, which is served as it is.
    convert(
      { type: 'json', data: structuredClone(openApi) },
      { folderStrategy: 'Tags', requestParametersResolution: 'Example', includeAuthInfoInExample: false },
      (error, result) => (error || !result ? reject(error ?? new Error('no result')) : resolve(result)),
    );
  });
  const collection = converted.result ? converted.output?.[0]?.data : undefined;
  if (!collection) {
    throw new LabelerError(
      'INTERNAL_ERROR',
      `The OpenAPI document could not be converted to a Postman collection: ${converted.reason ?? 'no output'}.`,
    );
  }
  const result = collection as unknown as PostmanCollection;
  inheritAuth(result.item);
  result.auth = BEARER;
  const variables = (result.variable ?? []).filter((v) => v.key !== POSTMAN_KEY_VARIABLE);
  variables.push({ key: POSTMAN_KEY_VARIABLE, value: '', type: 'string' });
  result.variable = variables;
  return result;
}
