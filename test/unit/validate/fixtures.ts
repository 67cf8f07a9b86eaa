// Hand-made ELF headers for the validate tests.

/** The first 20 bytes of an ELF file: magic, class, data (endianness), version, e_type, e_machine. */
export function elfHead(machine: number, opts: { bits?: 32 | 64; endian?: 'little' | 'big' } = {}): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, opts.bits === 32 ? 1 : 2, opts.endian === 'big' ? 2 : 1, 1], 0);
  if (opts.endian === 'big') {
    b.writeUInt16BE(3, 16);
    b.writeUInt16BE(machine, 18);
  } else {
    b.writeUInt16LE(3, 16);
    b.writeUInt16LE(machine, 18);
  }
  return b;
}
