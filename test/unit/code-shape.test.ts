import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The house rules on size that a reader feels first: a function takes at most 4 positional parameters (more travel
 * in a context object), and a module stays under 350 lines. Read with the TypeScript parser, so that a parameter
 * list spread over lines, an arrow function or a constructor is counted like any other.
 */
const SRC = path.resolve(__dirname, '../../src');
const MAX_PARAMETERS = 4;
const MAX_LINES = 350;

function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? modules(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every function-like node with more than MAX_PARAMETERS parameters, as "file:line name (n)". */
function longParameterLists(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && !ts.isFunctionTypeNode(node) && node.parameters.length > MAX_PARAMETERS) {
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      found.push(`${path.relative(SRC, file)}:${line} ${name} (${node.parameters.length})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Lines as an editor numbers them (the newline that ends the last one opens no new line). */
function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

describe('code shape', () => {
  const files = modules(SRC);

  it('finds a long parameter list where there is one (the check is not blind)', () => {
    expect(longParameterLists('x.ts', 'export function f(a: number, b: number, c: number, d: number, e: number) {}')).toHaveLength(1);
    expect(longParameterLists('x.ts', 'const g = (a: 1, b: 2, c: 3, d: 4, e: 5) => a;')).toHaveLength(1);
    expect(longParameterLists('x.ts', 'function h({ a, b, c, d, e }: { a: 1; b: 2; c: 3; d: 4; e: 5 }) {}')).toEqual([]);
  });

  it(`has no function with more than ${MAX_PARAMETERS} positional parameters`, () => {
    expect(files.flatMap((f) => longParameterLists(f, fs.readFileSync(f, 'utf8')))).toEqual([]);
  });

  it(`has no module over ${MAX_LINES} lines`, () => {
    const long = files
      .map((f) => [path.relative(SRC, f), lineCount(fs.readFileSync(f, 'utf8'))] as const)
      .filter(([, lines]) => lines > MAX_LINES)
      .map(([f, lines]) => `${f} (${lines})`);
    expect(long).toEqual([]);
  });
});
