import { Controller, Get, Injectable } from '@nestjs/common';
import { ApiExcludeController, type OpenAPIObject } from '@nestjs/swagger';
import { AppError } from '../../common/errors/app-error';
import { PublicRoute } from './admin-auth.guard';
import { ADMIN_OPENAPI_PATH } from './admin-openapi';

/** The admin API's document, built once the admin application exists (it is read off its controllers). */
@Injectable()
export class AdminOpenApiDocument {
  document?: OpenAPIObject;
}

@ApiExcludeController()
@Controller()
export class AdminOpenApiController {
  constructor(private readonly built: AdminOpenApiDocument) {}

  @Get(ADMIN_OPENAPI_PATH)
  @PublicRoute()
  document(): OpenAPIObject {
    if (!this.built.document) throw new AppError('NOT_FOUND', 'The API document is not built yet.');
    return this.built.document;
  }
}
