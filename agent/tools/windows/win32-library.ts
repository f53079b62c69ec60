// Win32 DLLs through koffi, loaded on first use: koffi's win32 binary is an npm registry package, so a Windows
// station needs no compiler, and nothing here loads on Linux.
import { createRequire } from 'node:module';

export type Win32Function = (...args: unknown[]) => unknown;

export interface Win32Library {
  /** A function of the DLL by its C prototype, e.g. 'uint32_t GetLogicalDrives()'. */
  func(prototype: string): Win32Function;
}

interface Koffi {
  load(name: string): Win32Library;
  address(pointer: unknown): bigint;
}

let koffi: Koffi | undefined;

function loadKoffi(): Koffi {
  koffi ??= createRequire(import.meta.url)('koffi') as Koffi;
  return koffi;
}

export function win32Library(name: string): Win32Library {
  return loadKoffi().load(name);
}

/** INVALID_HANDLE_VALUE ((HANDLE)-1), what CreateFileW returns when it fails. */
export function isInvalidHandle(handle: unknown): boolean {
  return handle === null || loadKoffi().address(handle) === 0xffffffffffffffffn;
}
