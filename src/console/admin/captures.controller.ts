import { ApiOperation } from '@nestjs/swagger';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { CaptureRules, type CaptureRuleView } from '../capture/capture-rules';
import type { AdminRequest } from './admin-principal';
import { RequiresRole } from './admin-auth.guard';
import { NumericIdParam, StartCapture } from './captures.dto';
import { ConsoleAudit } from './console-audit';

/** Which turns keep their (redacted) bodies for the inspector, and for how long. */
@Controller('api/captures')
export class CapturesController {
  constructor(
    private readonly rules: CaptureRules,
    private readonly audit: ConsoleAudit,
  ) {}

  @ApiOperation({ summary: 'The capture rules in force' })
  @Get()
  async list(): Promise<{ rules: CaptureRuleView[] }> {
    return { rules: await this.rules.inForce() };
  }

  @ApiOperation({ summary: "Start capturing the (redacted) bodies of a platform's or a caller's turns for a while" })
  @Post()
  @HttpCode(201)
  @RequiresRole('operator')
  async start(@Body() body: StartCapture, @Req() request: AdminRequest): Promise<CaptureRuleView> {
    if (body.platform === undefined && body.callerId === undefined) {
      throw new AppError('VALIDATION_FAILED', 'Say whose turns to capture: a platform, a callerId or both.', [
        { field: 'platform', problem: 'platform or callerId is required' },
      ]);
    }
    const principal = request.principal!;
    const rule = await this.rules.create({ ...body, createdBy: `${principal.via}:${principal.subject}` });
    this.audit.acted(request, principal, 'capture_start', describe(rule));
    return rule;
  }

  @ApiOperation({ summary: 'End a capture rule now' })
  @Delete(':id')
  @HttpCode(204)
  @RequiresRole('operator')
  async end(@Param() { id }: NumericIdParam, @Req() request: AdminRequest): Promise<void> {
    const rule = await this.rules.end(id);
    if (!rule) throw new AppError('NOT_FOUND', `No capture ${id} is in force.`);
    this.audit.acted(request, request.principal!, 'capture_end', describe(rule));
  }
}

function describe(rule: CaptureRuleView): string {
  const scope = [rule.platform && `platform=${rule.platform}`, rule.callerId && `caller=${rule.callerId}`];
  return `${rule.id} ${scope.filter(Boolean).join(' ')} until ${rule.expiresAt.toISOString()}`;
}
