/**
 * One external command shale runs to deploy: a program and its argument array. It is run with
 * `spawn` and no shell, so arguments are never parsed by a shell; `formatCommand` only renders it
 * for people (dry runs, progress).
 */
export interface ToolCommand {
  program: 'kubectl' | 'az';
  args: string[];
}

// Characters a POSIX shell reads literally; anything else gets single quotes in the rendering.
const PLAIN = /^[\w@%+=:,./-]+$/;

/** Renders a command the way a user could paste it into a POSIX shell. */
export function formatCommand(cmd: ToolCommand): string {
  return [cmd.program, ...cmd.args].map(quote).join(' ');
}

function quote(arg: string): string {
  return PLAIN.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
