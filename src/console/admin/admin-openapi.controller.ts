import { Controller, Get, Injectable } from '@nestjs/common';
import { ApiExcludeController, type OpenAPIObject } from '@nestjs/swagger';
import { AppError } from '../../common/errors/app-error';
import { PublicRoute } from './admin-auth.guard';
import { ADMIN_OPENAPI_PATH } from './admin-openapi';

/**
 * The admin API's document, read off the admin application's controllers. It is built on its first request, not
 * at start-up: generating it (every DTO's JSON Schema) costs about a tenth of a second that a restarting replica
 * should not wait for.
 */
@Injectable()
export class AdminOpenApiDocument {
  private build?: () => OpenAPIObject;
  private built?: OpenAPIObject;

  /** Called once the admin application exists. */
  buildWith(build: () => OpenAPIObject): void {
    this.build = build;
  }

  get document(): OpenAPIObject | undefined {
    if (!this.built && this.build) this.built = this.build();
    return this.built;
  }
}

@ApiExcludeController()
@Controller()
export class AdminOpenApiController {
  constructor(private readonly openApi: AdminOpenApiDocument) {}

  @Get(ADMIN_OPENAPI_PATH)
  @PublicRoute()
  document(): OpenAPIObject {
    const document = this.openApi.document;
    if (!document) throw new AppError('NOT_FOUND', 'The API document is not built yet.');
    return document;
  }
}
