#!/usr/bin/env python3
# A damaged disc for tests: a read-only FUSE file system holding one file, a disc image whose reads fail
# with EIO wherever they touch a chosen byte range. Attach the file to a loop device to get a disc with bad sectors.
#
#   bad-sectors-fuse.py IMAGE MOUNTPOINT --bad OFFSET:LENGTH [--bad OFFSET:LENGTH ...] [--error-delay SECONDS]
#                       [--foreground]
#
# The file appears as MOUNTPOINT/<basename of IMAGE>. Without --foreground it returns once the file system is mounted.
# Unmount with `fusermount3 -u MOUNTPOINT`.
import argparse
import errno
import os
import stat
import time

try:
    import fusepy as fuse  # Debian's python3-fusepy renames the module
except ImportError:
    import fuse  # fusepy from PyPI


def parse_range(text):
    offset, length = (int(part, 0) for part in text.split(':'))
    if offset < 0 or length <= 0:
        raise argparse.ArgumentTypeError(f'bad range {text}: need OFFSET:LENGTH with LENGTH > 0')
    return offset, offset + length


class BadSectorsImage(fuse.Operations):
    def __init__(self, image, bad_ranges, error_delay):
        self.name = '/' + os.path.basename(image)
        self.size = os.path.getsize(image)
        self.bad_ranges = bad_ranges
        self.error_delay = error_delay
        self.fd = os.open(image, os.O_RDONLY)

    def getattr(self, path, fh=None):
        if path == '/':
            return {'st_mode': stat.S_IFDIR | 0o555, 'st_nlink': 2}
        if path == self.name:
            return {'st_mode': stat.S_IFREG | 0o444, 'st_nlink': 1, 'st_size': self.size}
        raise fuse.FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return ['.', '..', self.name[1:]]

    def open(self, path, flags):
        if path != self.name:
            raise fuse.FuseOSError(errno.ENOENT)
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise fuse.FuseOSError(errno.EROFS)
        return 0

    def read(self, path, size, offset, fh):
        # A whole read fails, not just its bad part: a short read would be zero-filled by the loop driver,
        # hiding the damage, and a real drive fails the whole request too.
        end = offset + size
        if any(offset < bad_end and bad_start < end for bad_start, bad_end in self.bad_ranges):
            time.sleep(self.error_delay)
            raise fuse.FuseOSError(errno.EIO)
        return os.pread(self.fd, size, offset)


def main():
    parser = argparse.ArgumentParser(description='Serve a disc image whose chosen byte ranges cannot be read.')
    parser.add_argument('image')
    parser.add_argument('mountpoint')
    parser.add_argument('--bad', type=parse_range, action='append', default=[], metavar='OFFSET:LENGTH')
    # A real drive spends seconds on a bad sector before it gives up; a delay makes a rescue last long enough to cancel.
    parser.add_argument('--error-delay', type=float, default=0, metavar='SECONDS')
    parser.add_argument('--foreground', action='store_true')
    args = parser.parse_args()
    # Without --foreground libfuse daemonizes and changes to /, so relative paths must be resolved first.
    operations = BadSectorsImage(os.path.abspath(args.image), args.bad, args.error_delay)
    # direct_io: every read reaches read() above, so no page cache can serve (or mask) a bad range.
    fuse.FUSE(operations, os.path.abspath(args.mountpoint), foreground=args.foreground, ro=True, direct_io=True)


if __name__ == '__main__':
    main()
