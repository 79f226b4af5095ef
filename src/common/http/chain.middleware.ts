import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Runs middleware in order as one express layer (each layer costs router work on every request). */
export function chain(...handlers: RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let index = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined || index === handlers.length) {
        next(error);
        return;
      }
      void handlers[index++](req, res, step);
    };
    step();
  };
}
