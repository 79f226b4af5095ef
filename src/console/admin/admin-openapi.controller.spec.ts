import type { OpenAPIObject } from '@nestjs/swagger';
import { AppError } from '../../common/errors/app-error';
import { AdminOpenApiController, AdminOpenApiDocument } from './admin-openapi.controller';

describe('AdminOpenApiController', () => {
  const built: OpenAPIObject = { openapi: '3.1.0', info: { title: 'admin', version: 'v1' }, paths: {} };

  it('builds the document on its first request, not before, and only once', () => {
    const openApi = new AdminOpenApiDocument();
    const build = jest.fn(() => built);
    openApi.buildWith(build);
    expect(build).not.toHaveBeenCalled();
    const controller = new AdminOpenApiController(openApi);
    expect(controller.document()).toBe(built);
    expect(controller.document()).toBe(built);
    expect(build).toHaveBeenCalledTimes(1);
  });

  it('answers 404 while the admin application has not said how to build it', () => {
    expect(() => new AdminOpenApiController(new AdminOpenApiDocument()).document()).toThrow(AppError);
  });
});
