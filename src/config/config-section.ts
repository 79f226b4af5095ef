import type { ValueProvider } from '@nestjs/common';
import type { ClassConstructor } from 'class-transformer';
import type { AppConfig } from './app-config';
import { ConfigError, validateVariables } from './load-config';

/** A problem with one variable of a section, found while building its options. */
export class VariableProblem extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'VariableProblem';
  }
}

/**
 * The settings of one part of the application that is not the service itself (a built-in intent domain): the
 * variables it reads, declared and validated like the service's own (class-validator), and the options object
 * its module injects. The composition root loads every section together with the configuration, so a bad value
 * stops start-up with the same one-line-per-problem report.
 */
export interface ConfigSection<Options extends object = object, Variables extends object = object> {
  /** The token the module injects its options by (a class of its own). */
  readonly provide: abstract new () => Options;
  readonly variables: ClassConstructor<Variables>;
  /** The options from the validated variables; throws `VariableProblem` for what validation cannot see. */
  build(variables: Variables, config: AppConfig): Options;
}

/** The variables the sections read (for `loadConfig`'s `knownVariables`). */
export function sectionVariables(sections: readonly ConfigSection[]): string[] {
  return sections.flatMap((section) => Object.keys(new section.variables()));
}

/** Validates and builds every section from the environment the configuration was read from. */
export function loadSections(config: AppConfig, sections: readonly ConfigSection[]): ValueProvider[] {
  const problems: string[] = [];
  const providers: ValueProvider[] = [];
  for (const section of sections) {
    const { values, problems: invalid } = validateVariables(section.variables, config.environment);
    problems.push(...invalid);
    if (invalid.length > 0) continue;
    try {
      providers.push({ provide: section.provide, useValue: section.build(values, config) });
    } catch (error: unknown) {
      if (!(error instanceof VariableProblem)) throw error;
      problems.push(`${error.variable}: ${error.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return providers;
}
