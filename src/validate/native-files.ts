import { platformString } from '../oci/types.js';
import { expectedMachine, machineName } from './elf.js';
import { verdict, type CheckResult, type ImageView } from './result.js';

/**
 * Every ELF file in a platform's shale-made layers is for that platform's machine (an x86-64
 * extension in an arm64 image would fail only at import time, on the target).
 */
export function checkNativeFiles(images: readonly ImageView[]): CheckResult {
  const problems: string[] = [];
  const counts: string[] = [];
  for (const img of images) {
    const plat = platformString(img.platform);
    const want = expectedMachine(img.platform);
    let n = 0;
    for (const layer of img.layers.filter((l) => l.shale)) {
      for (const e of layer.entries) {
        if (!e.elf) continue;
        n++;
        if (want !== undefined && e.elf.machine !== want) {
          problems.push(`${plat}: ${e.path} (layer ${layer.name}) is ${machineName(e.elf.machine)}, not ${machineName(want)}`);
        }
      }
    }
    const files = n === 0 ? 'no ELF files' : n === 1 ? '1 ELF file' : `${n} ELF files`;
    counts.push(
      want === undefined
        ? `${plat}: ${files}, machine not checked (unknown architecture)`
        : n === 0
          ? `${plat}: ${files}`
          : `${plat}: ${files}, all ${machineName(want)}`,
    );
  }
  return verdict('native-files', problems, `native files in shale layers match their platform (${counts.join('; ')})`);
}
