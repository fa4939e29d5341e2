import type { Response } from 'express';
import { toJsonApi, type Problem } from '../errors';
import type { Answer } from '../sync/answer';

/** Problems as the error handler renders them (src/http/errors.ts). */
export function problemAnswer(status: number, problems: readonly Problem[]): Answer {
  return { status, headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' }, body: { errors: problems.map(toJsonApi) } };
}

export function sendAnswer(res: Response, answer: Answer): void {
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  if (answer.headers['content-type']) res.send(Buffer.from(JSON.stringify(answer.body)));
  else res.json(answer.body);
}
