// How every writer names a file while writing it ("title.mkv.part", "disc.iso.part"): the finished name appears only
// by a rename once it is whole, and after a crash recovery finds and removes what was left half-written.
export const PARTIAL_SUFFIX = '.part';
