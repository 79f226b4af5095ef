import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

/** Whose console sessions to end: the identity provider's subject, as `GET /api/session` and the audit trail name it. */
export class EndSessionsOf {
  @IsString()
  @MinLength(1)
  // OpenID Connect Core 2: a subject has at most 255 ASCII characters.
  @MaxLength(255)
  // eslint-disable-next-line no-control-regex -- no subject holds a control character
  @Matches(/^[^\u0000-\u001f\u007f]+$/, { message: 'subject must not contain control characters' })
  subject!: string;
}
