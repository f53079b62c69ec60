// Native libraries through koffi, loaded on first use: Win32 DLLs on Windows, libsystemd on Linux. koffi's binaries
// are npm registry packages, so nothing is compiled; nothing loads until a platform's code asks for it.
import { createRequire } from 'node:module';

export type NativeFunction = (...args: unknown[]) => unknown;

export interface NativeLibrary {
  /** A function of the library by its C prototype, e.g. 'uint32_t GetLogicalDrives()'. */
  func(prototype: string): NativeFunction;
}

interface Koffi {
  load(name: string): NativeLibrary;
  address(pointer: unknown): bigint;
}

let koffi: Koffi | undefined;

function loadKoffi(): Koffi {
  koffi ??= createRequire(import.meta.url)('koffi') as Koffi;
  return koffi;
}

export function nativeLibrary(name: string): NativeLibrary {
  return loadKoffi().load(name);
}

/** INVALID_HANDLE_VALUE ((HANDLE)-1), what CreateFileW returns when it fails. */
export function isInvalidHandle(handle: unknown): boolean {
  return handle === null || loadKoffi().address(handle) === 0xffffffffffffffffn;
}
