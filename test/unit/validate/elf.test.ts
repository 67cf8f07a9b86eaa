import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ElfMachine, expectedMachine, machineName, readElfHeader } from '../../../src/validate/elf.js';
import { elfHead } from './fixtures.js';

test('readElfHeader: machine, class and byte order of little- and big-endian headers', () => {
  assert.deepEqual(readElfHeader(elfHead(62)), { bits: 64, endian: 'little', machine: ElfMachine.X86_64 });
  assert.deepEqual(readElfHeader(elfHead(183)), { bits: 64, endian: 'little', machine: ElfMachine.AARCH64 });
  assert.deepEqual(readElfHeader(elfHead(40, { bits: 32 })), { bits: 32, endian: 'little', machine: ElfMachine.ARM });
  assert.deepEqual(readElfHeader(elfHead(22, { endian: 'big' })), { bits: 64, endian: 'big', machine: ElfMachine.S390 });
  // Only the first 20 bytes are needed, and a view into a larger buffer works.
  assert.equal(readElfHeader(elfHead(183).subarray(0, 20))?.machine, 183);
  assert.equal(readElfHeader(Buffer.concat([Buffer.from('xx'), elfHead(62)]).subarray(2))?.machine, 62);
});

test('readElfHeader: not ELF → undefined (scripts, short files, bad class or byte order)', () => {
  assert.equal(readElfHeader(Buffer.from('#!/usr/bin/env python3\nprint("hi")\n')), undefined);
  assert.equal(readElfHeader(elfHead(62).subarray(0, 19)), undefined);
  const badClass = elfHead(62);
  badClass[4] = 3;
  assert.equal(readElfHeader(badClass), undefined);
  const badData = elfHead(62);
  badData[5] = 0;
  assert.equal(readElfHeader(badData), undefined);
});

test('expectedMachine and machineName: OCI architectures map to e_machine', () => {
  assert.equal(expectedMachine({ os: 'linux', architecture: 'amd64' }), 62);
  assert.equal(expectedMachine({ os: 'linux', architecture: 'arm64', variant: 'v8' }), 183);
  assert.equal(expectedMachine({ os: 'linux', architecture: 'mips64le' }), undefined);
  assert.equal(machineName(62), 'x86-64');
  assert.equal(machineName(183), 'AArch64');
  assert.equal(machineName(9999), 'machine 9999');
});
