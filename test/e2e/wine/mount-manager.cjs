// Run by the Windows node.exe under Wine (test harness only): tells Wine's mount manager that drive LETTER is a CD-ROM
// drive on DEVICE with MOUNT_POINT as its folder, so that it reads the disc's label again. Real Windows notices a
// new disc itself; Wine reads the label once and keeps it (see ../shared/reference/windows-under-wine.md).
// Usage: node mount-manager.cjs d /empty/folder /dev/loopN
const koffi = require('koffi');

const IOCTL_MOUNTMGR_DEFINE_UNIX_DRIVE = 0x6dc080;
const DRIVE_CDROM = 5;
const HEADER_BYTES = 32;

const kernel32 = koffi.load('kernel32.dll');
const CreateFileW = kernel32.func('void *CreateFileW(const char16_t *name, uint32_t access, uint32_t share, void *security, uint32_t disposition, uint32_t flags, void *template)');
const DeviceIoControl = kernel32.func('bool DeviceIoControl(void *device, uint32_t code, void *in, uint32_t inSize, void *out, uint32_t outSize, _Out_ uint32_t *returned, void *overlapped)');
const GetLastError = kernel32.func('uint32_t GetLastError()');
const CloseHandle = kernel32.func('bool CloseHandle(void *handle)');

const [letter, mountPoint, device] = process.argv.slice(2);
const mount = Buffer.from(`${mountPoint}\0`, 'utf8');
const dev = Buffer.from(`${device}\0`, 'utf8');
// struct mountmgr_unix_drive { ULONG size, type, fs_type; DWORD serial; ULONGLONG unix_dev; WCHAR letter;
// USHORT mount_point_offset, device_offset, label_offset; } followed by the strings it points at.
const header = Buffer.alloc(HEADER_BYTES);
header.writeUInt32LE(HEADER_BYTES + mount.length + dev.length, 0);
header.writeUInt32LE(DRIVE_CDROM, 4);
header.writeUInt16LE(letter.toLowerCase().charCodeAt(0), 24);
header.writeUInt16LE(HEADER_BYTES, 26);
header.writeUInt16LE(HEADER_BYTES + mount.length, 28);
const input = Buffer.concat([header, mount, dev]);
const manager = CreateFileW('\\\\.\\MountPointManager', 0xc0000000, 3, null, 3, 0, null);
const ok = DeviceIoControl(manager, IOCTL_MOUNTMGR_DEFINE_UNIX_DRIVE, input, input.length, null, 0, [0], null);
const error = ok ? 0 : GetLastError();
CloseHandle(manager);
if (!ok) {
  process.stderr.write(`mount manager refused drive ${letter}: error ${error}\n`);
  process.exit(1);
}
