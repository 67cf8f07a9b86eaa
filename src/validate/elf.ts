/**
 * Just enough of the ELF format to tell which machine a native file (executable, shared
 * library, Python extension) was built for: the identification bytes and `e_machine`.
 */
import type { Platform } from '../oci/types.js';

/** Bytes of a file's start that {@link readElfHeader} needs. */
export const ELF_HEAD_BYTES = 20;

/** `e_machine` values (ELF gABI) of the architectures container images use. */
export const ElfMachine = { X86: 3, PPC64: 21, S390: 22, ARM: 40, X86_64: 62, AARCH64: 183, RISCV: 243 } as const;

const NAMES: Record<number, string> = {
  [ElfMachine.X86]: 'x86 (i386)',
  [ElfMachine.PPC64]: 'PowerPC64',
  [ElfMachine.S390]: 's390x',
  [ElfMachine.ARM]: '32-bit ARM',
  [ElfMachine.X86_64]: 'x86-64',
  [ElfMachine.AARCH64]: 'AArch64',
  [ElfMachine.RISCV]: 'RISC-V',
};

/** What an ELF header says about the machine a file runs on. */
export interface ElfHeader {
  bits: 32 | 64;
  endian: 'little' | 'big';
  /** `e_machine`, e.g. 62 for x86-64, 183 for AArch64. */
  machine: number;
}

/** Reads the ELF header at the start of `head`; undefined when it is not an ELF file. */
export function readElfHeader(head: Uint8Array): ElfHeader | undefined {
  if (head.length < ELF_HEAD_BYTES) return undefined;
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
  const cls = head[4];
  const data = head[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return { bits: cls === 1 ? 32 : 64, endian: data === 1 ? 'little' : 'big', machine: view.getUint16(18, data === 1) };
}

/** A readable name for an `e_machine` value ("x86-64", "AArch64", "machine 99"). */
export function machineName(machine: number): string {
  return NAMES[machine] ?? `machine ${machine}`;
}

/** The `e_machine` native files of an image for `platform` must have; undefined when unknown. */
export function expectedMachine(platform: Platform): number | undefined {
  const byArch: Record<string, number> = {
    amd64: ElfMachine.X86_64,
    arm64: ElfMachine.AARCH64,
    arm: ElfMachine.ARM,
    '386': ElfMachine.X86,
    ppc64le: ElfMachine.PPC64,
    s390x: ElfMachine.S390,
    riscv64: ElfMachine.RISCV,
  };
  return byArch[platform.architecture];
}
