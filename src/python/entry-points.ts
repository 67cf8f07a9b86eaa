/**
 * Console and GUI scripts from `entry_points.txt` (packaging.python.org, "Entry points
 * specification"), written as small launcher scripts like pip's.
 */

/** One script to generate: `name = module:attr`. */
export interface ScriptEntryPoint {
  name: string;
  module: string;
  /** Dotted attribute path inside the module ("main" or "cli.main"). */
  attr: string;
  gui: boolean;
}

/** Parses the INI text of entry_points.txt, keeping console_scripts and gui_scripts. */
export function parseScriptEntryPoints(text: string): { scripts: ScriptEntryPoint[]; invalid: string[] } {
  const scripts: ScriptEntryPoint[] = [];
  const invalid: string[] = [];
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = (sec[1] ?? '').trim();
      continue;
    }
    if (section !== 'console_scripts' && section !== 'gui_scripts') continue;
    const eq = line.indexOf('=');
    const name = line.slice(0, eq).trim();
    // The extras part ("[extra1]") has no effect on the launcher.
    const value = line
      .slice(eq + 1)
      .replace(/\[.*\]\s*$/, '')
      .trim();
    const m = /^([\w.]+)\s*:\s*([\w.]+)$/.exec(value);
    if (eq < 0 || !name || !m || !/^[^/\\\0]+$/.test(name) || name === '.' || name === '..') {
      invalid.push(line);
      continue;
    }
    scripts.push({ name, module: m[1] ?? '', attr: m[2] ?? '', gui: section === 'gui_scripts' });
  }
  return { scripts, invalid };
}

/** The launcher pip writes for an entry point, with the image's interpreter in the shebang. */
export function launcherScript(interpreter: string, ep: Pick<ScriptEntryPoint, 'module' | 'attr'>): string {
  const importName = ep.attr.split('.')[0] ?? ep.attr;
  return (
    `#!${interpreter}\n` +
    '# -*- coding: utf-8 -*-\n' +
    'import re\n' +
    'import sys\n' +
    `from ${ep.module} import ${importName}\n` +
    'if __name__ == "__main__":\n' +
    '    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])\n' +
    `    sys.exit(${ep.attr}())\n`
  );
}
