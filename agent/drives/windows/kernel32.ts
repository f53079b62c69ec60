// The few Win32 calls a Windows station makes of its drives, through koffi (an FFI whose win32 binary is an npm
// registry package, so nothing is compiled and no process is spawned per poll). Behind the Win32Drives interface,
// so the drive source is tested against a fake that answers with the real error codes where Wine cannot.
import { isInvalidHandle, nativeLibrary } from '../../tools/native-library.js';

export const DRIVE_CDROM = 5;
export const ERROR_ACCESS_DENIED = 5;
export const ERROR_NOT_READY = 21;
export const ERROR_INVALID_PARAMETER = 87;
export const ERROR_UNRECOGNIZED_VOLUME = 1005;

export interface VolumeInformation {
  label: string;
  serial: number;
  fileSystem: string;
}

/** A call that failed, with the error GetLastError gave for it. */
export interface Win32Failure {
  error: number;
}

export interface Win32Drives {
  /** The bit mask of drive letters that exist: bit 0 is A:, bit 3 is D:. */
  logicalDrives(): number;
  /** DRIVE_CDROM (5) for an optical drive; `root` is "D:\". */
  driveType(root: string): number;
  volumeInformation(root: string): VolumeInformation | Win32Failure;
  /** IOCTL_STORAGE_EJECT_MEDIA on \\.\D: ; undefined when it worked. */
  ejectMedia(letter: string): Win32Failure | undefined;
  /** winmm's MCI "set door open" for the drive: the fallback where the ioctl is refused; undefined when it worked. */
  mciOpenDoor(letter: string): Win32Failure | undefined;
}

export function failed(result: VolumeInformation | Win32Failure): result is Win32Failure {
  return 'error' in result;
}

/** What a Win32 error means to a person at a rip station. */
export function describeWin32Error(error: number): string {
  switch (error) {
    case ERROR_NOT_READY: return 'the drive is not ready (no disc, or the tray is open)';
    case ERROR_ACCESS_DENIED: return 'Windows refused access to the drive (another program holds it, or the service lacks the right)';
    case ERROR_INVALID_PARAMETER: return 'the drive does not take this command';
    case ERROR_UNRECOGNIZED_VOLUME: return 'Windows does not recognise the disc\'s file system';
    default: return `Windows error ${error}`;
  }
}

const SEM_FAILCRITICALERRORS = 0x0001;
const SEM_NOOPENFILEERRORBOX = 0x8000;
const GENERIC_READ = 0x80000000;
const FILE_SHARE_READ_WRITE = 0x3;
const OPEN_EXISTING = 3;
const IOCTL_STORAGE_EJECT_MEDIA = 0x2d4808;
const NAME_CHARS = 261;

/** The real kernel32 and winmm, on Windows (and under Wine). Throws a readable error where koffi cannot load. */
export function loadWin32Drives(): Win32Drives {
  const kernel32 = nativeLibrary('kernel32.dll');
  const winmm = nativeLibrary('winmm.dll');
  const SetErrorMode = kernel32.func('uint32_t SetErrorMode(uint32_t mode)');
  const GetLastError = kernel32.func('uint32_t GetLastError()');
  const GetLogicalDrives = kernel32.func('uint32_t GetLogicalDrives()');
  const GetDriveTypeW = kernel32.func('uint32_t GetDriveTypeW(const char16_t *root)');
  const GetVolumeInformationW = kernel32.func('bool GetVolumeInformationW(const char16_t *root, void *name, uint32_t nameSize, ' +
    '_Out_ uint32_t *serial, _Out_ uint32_t *maxLength, _Out_ uint32_t *flags, void *fileSystem, uint32_t fileSystemSize)');
  const CreateFileW = kernel32.func('void *CreateFileW(const char16_t *name, uint32_t access, uint32_t share, void *security, ' +
    'uint32_t disposition, uint32_t flags, void *template)');
  const DeviceIoControl = kernel32.func('bool DeviceIoControl(void *device, uint32_t code, void *in, uint32_t inSize, void *out, ' +
    'uint32_t outSize, _Out_ uint32_t *returned, void *overlapped)');
  const CloseHandle = kernel32.func('bool CloseHandle(void *handle)');
  const mciSendStringW = winmm.func('uint32_t mciSendStringW(const char16_t *command, void *answer, uint32_t answerSize, void *window)');

  // An empty drive must answer "not ready", never raise the "insert a disk" dialog a service cannot click away.
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX);
  const text = (buffer: Buffer) => buffer.toString('utf16le').split('\u0000')[0] ?? '';
  return {
    logicalDrives: () => GetLogicalDrives() as number,
    driveType: (root) => GetDriveTypeW(root) as number,
    volumeInformation(root) {
      const name = Buffer.alloc(NAME_CHARS * 2);
      const fileSystem = Buffer.alloc(NAME_CHARS * 2);
      const serial = [0];
      if (!GetVolumeInformationW(root, name, NAME_CHARS, serial, [0], [0], fileSystem, NAME_CHARS)) return { error: GetLastError() as number };
      return { label: text(name), serial: (serial[0] ?? 0) >>> 0, fileSystem: text(fileSystem) };
    },
    ejectMedia(letter) {
      const device = CreateFileW(`\\\\.\\${letter}`, GENERIC_READ, FILE_SHARE_READ_WRITE, null, OPEN_EXISTING, 0, null);
      if (isInvalidHandle(device)) return { error: GetLastError() as number };
      try {
        return DeviceIoControl(device, IOCTL_STORAGE_EJECT_MEDIA, null, 0, null, 0, [0], null) ? undefined : { error: GetLastError() as number };
      } finally {
        CloseHandle(device);
      }
    },
    mciOpenDoor(letter) {
      const alias = `discbridge_${letter[0]?.toLowerCase() ?? 'x'}`;
      const run = (command: string) => mciSendStringW(command, null, 0, null) as number;
      const opened = run(`open ${letter} type cdaudio alias ${alias} shareable`);
      if (opened !== 0) return { error: opened };
      try {
        const door = run(`set ${alias} door open`);
        return door === 0 ? undefined : { error: door };
      } finally {
        run(`close ${alias}`);
      }
    },
  };
}
