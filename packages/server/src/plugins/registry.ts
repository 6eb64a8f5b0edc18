import { assertPluginCompatible, LabelerError, type PluginDefinition, type PluginKind } from '@labeler/core';

/** The plugins this server knows, registered in code. Instances of them are configured in the database. */
export class PluginRegistry {
  readonly #definitions = new Map<string, PluginDefinition>();

  constructor(definitions: readonly PluginDefinition[] = []) {
    for (const definition of definitions) this.register(definition);
  }

  /** Refuses a plugin with an incompatible contract version or malformed definition, naming plugin and field. */
  register(definition: PluginDefinition): void {
    assertPluginCompatible(definition);
    if (this.#definitions.has(definition.id)) {
      throw new LabelerError('PLUGIN_INCOMPATIBLE', `Plugin "${definition.id}": id is already registered`, {
        details: { plugin: definition.id, field: 'id' },
      });
    }
    this.#definitions.set(definition.id, definition);
  }

  get(id: string): PluginDefinition {
    const definition = this.#definitions.get(id);
    if (!definition) {
      throw new LabelerError(
        'PLUGIN_NOT_REGISTERED',
        `No plugin "${id}" is registered. Registered: ${[...this.#definitions.keys()].join(', ')}.`,
        {
          details: { plugin: id },
        },
      );
    }
    return definition;
  }

  has(id: string): boolean {
    return this.#definitions.has(id);
  }

  list(kind?: PluginKind): PluginDefinition[] {
    return [...this.#definitions.values()].filter((d) => !kind || d.kind === kind);
  }
}
