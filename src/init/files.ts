/** Reading a project for `shale init`, where a missing file is an answer, not an error. */
import { readFile, stat } from 'node:fs/promises';

/** Whether anything is at `p`. */
export const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The text of `p`, or "" when it cannot be read. */
export const readText = (p: string): Promise<string> => readFile(p, 'utf8').catch(() => '');
