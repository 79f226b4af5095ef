import 'reflect-metadata';

import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max } from 'class-validator';
import { type ConfigSection, loadSections, VariableProblem } from './config-section';
import { ConfigError, loadConfig } from './load-config';
import { toInt } from './variable-transforms';

abstract class WidgetOptions {
  abstract readonly size: number;
  abstract readonly label?: string;
}

class WidgetVariables {
  @Transform(toInt)
  @IsInt()
  @Max(10)
  WIDGET_SIZE = 3;

  @IsOptional()
  @IsString()
  WIDGET_LABEL?: string;
}

const WIDGETS: ConfigSection<WidgetOptions, WidgetVariables> = {
  provide: WidgetOptions,
  variables: WidgetVariables,
  build: (variables) => {
    if (variables.WIDGET_LABEL === 'forbidden') throw new VariableProblem('WIDGET_LABEL', 'must not be "forbidden"');
    return { size: variables.WIDGET_SIZE, label: variables.WIDGET_LABEL };
  },
};

describe('loadSections (settings declared by a module beside its code)', () => {
  it('reads the section’s variables from the environment the configuration was read from, with its defaults', () => {
    const config = loadConfig({ WIDGET_LABEL: 'blue' }, '/srv');
    expect(loadSections(config, [WIDGETS])).toEqual([{ provide: WidgetOptions, useValue: { size: 3, label: 'blue' } }]);
    expect(loadSections(loadConfig({ WIDGET_SIZE: '7' }, '/srv'), [WIDGETS])[0].useValue).toEqual({ size: 7 });
  });

  it('reports every bad variable in one ConfigError, one line each, like the service’s own', () => {
    let error: unknown;
    try {
      loadSections(loadConfig({ WIDGET_SIZE: '99' }, '/srv'), [WIDGETS, { ...WIDGETS }]);
    } catch (caught: unknown) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'WIDGET_SIZE: must not be greater than 10 (got 99)',
      'WIDGET_SIZE: must not be greater than 10 (got 99)',
    ]);
  });

  it('turns a problem found while building the options into the same kind of line', () => {
    expect(() => loadSections(loadConfig({ WIDGET_LABEL: 'forbidden' }, '/srv'), [WIDGETS])).toThrow(
      'Invalid configuration:\n  WIDGET_LABEL: must not be "forbidden"',
    );
  });
});
