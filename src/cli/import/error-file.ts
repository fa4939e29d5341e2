import fs from 'node:fs';
import type { LineProblem } from './sources';

function csvCell(v: string | number | undefined): string {
  const s = v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `--errors <file.csv>`: one row per problem, `line,column,field,code,message`, written as they come. */
export class ErrorFile {
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w');
    fs.writeSync(this.fd, 'line,column,field,code,message\n');
  }

  write(p: LineProblem): void {
    fs.writeSync(this.fd, [p.line, p.column, p.field, p.code, p.message].map(csvCell).join(',') + '\n');
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
