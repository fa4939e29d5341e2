// async-exit-hook has no types; only what bulksync uses of it is declared.
declare module 'async-exit-hook' {
  interface ExitHook {
    hookedEvents(): string[];
    unhookEvent(event: string): void;
  }
  const exitHook: ExitHook;
  export = exitHook;
}
