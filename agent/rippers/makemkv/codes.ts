// Named numbers of makemkvcon's robot mode (`-r`), with the meanings from MakeMKV's apdefs.h and real captures
// (see shared/reference/output-formats.md §1). Only the numbers this parser acts on, or tests assert, are named.

/** MSG codes: switch on these, never on the localised text. */
export const MsgCode = {
  /** "%1 started": the version banner, always the first line; %1 is "MakeMKV v1.18.1 linux(x64-release)". */
  Started: 1005,
  /** "Error '%1' occurred while reading '%2' at offset '%3'": one failed read (SCSI sense, file, offset). */
  ReadError: 2003,
  /** "Error '%1' occurred while issuing SCSI command %4 to device '%2:%3'". */
  ScsiError: 2004,
  /** "Drive %1 has RPC protection that can not be bypassed": the drive's region locks out this disc. */
  RpcProtection: 3031,
  /** APP_DUMP_DONE_PARTIAL "%1 titles saved, %2 failed" (apdefs.h; not in a real capture). */
  TitlesSavedPartial: 5004,
  /** APP_DUMP_DONE "%1 titles saved". */
  TitlesSaved: 5005,
  /** "Failed to open disc": no disc, unreadable disc, no such drive, key problem… */
  FailedToOpenDisc: 5010,
  /** "Operation successfully completed": the disc was opened and scanned. */
  OperationCompleted: 5011,
  /** "Saving %1 titles into directory %2" (%2 is a file:// URL). */
  SavingTitles: 5014,
  /** "The stored activation key is invalid" (reported in docker-makemkv#255; not in a real capture). */
  KeyInvalid: 5020,
  /** PROT_DEMO_KEY_EXPIRED "This application version is too old…": an expired beta key or too old a build. */
  VersionTooOld: 5021,
  /** "Copy complete. %1 titles saved.": the success terminator of `mkv`. */
  CopyComplete: 5036,
  /** "Copy complete. %1 titles saved, %2 failed." (third-party reports only). */
  CopyCompleteWithFailures: 5037,
  /** "The program can't find any usable optical drives." */
  NoUsableDrives: 5042,
  /** "Evaluation version, %1 day(s) out of %2 remaining". */
  EvaluationRemaining: 5050,
  /** "This functionality is shareware…": the evaluation prompt. */
  SharewarePrompt: 5053,
  /** "Evaluation period has expired" (ARM checks it; not in a real capture). */
  EvaluationExpired: 5055,
  /** "Your temporary key has expired and was removed" (docker-makemkv screenshots; not in a real capture). */
  TemporaryKeyExpired: 5073,
  /** "The new version %1 is available for download at %2". */
  NewVersionAvailable: 5075,
} as const;

/** PRGT/PRGC codes: message ids naming a progress stage, not title numbers. */
export const ProgressCode = {
  ScanningDrives: 5018,
  OpeningDvd: 3100,
  OpeningBluray: 3404,
  /** "Saving all titles to MKV files": the only stage whose progress is the rip's progress. */
  SavingTitles: 5024,
  AnalyzingSeamlessSegments: 5057,
  SavingToMkvFile: 5017,
} as const;

/** DRV field 2, documented as "visible" but really AP_DriveState*. */
export const DriveState = {
  EmptyClosed: 0,
  EmptyOpen: 1,
  Inserted: 2,
  Loading: 3,
  NoDrive: 256,
  Unmounting: 257,
} as const;

/** DRV field 4: AP_DskFsFlag*, what the inserted disc's file system holds. 12 = Blu-ray with AACS. */
export const DiscFlag = {
  Dvd: 1,
  HdDvd: 2,
  Bluray: 4,
  Aacs: 8,
  /** BDSVM, i.e. BD+. */
  BdPlus: 16,
} as const;

/** AP_ItemAttributeId: the `id` of CINFO/TINFO/SINFO lines. */
export const Attr = {
  Type: 1,
  Name: 2,
  LangCode: 3,
  LangName: 4,
  CodecId: 5,
  CodecShort: 6,
  CodecLong: 7,
  ChapterCount: 8,
  /** "H:MM:SS", hours not zero-padded. */
  Duration: 9,
  /** Human text ("4.6 GB"); use DiskSizeBytes for arithmetic. */
  DiskSize: 10,
  DiskSizeBytes: 11,
  AudioChannelsCount: 14,
  AngleInfo: 15,
  /** Blu-ray playlist or clip ("00800.mpls"); DVD titles lack it. */
  SourceFileName: 16,
  VideoSize: 19,
  VideoFrameRate: 21,
  /** AP_AVStreamFlag_* bitmask (4096 = forced subtitles…). */
  StreamFlags: 22,
  /** The DVD's own title number ("01"). */
  OriginalTitleId: 24,
  SegmentsCount: 25,
  SegmentsMap: 26,
  OutputFileName: 27,
  /** The raw volume label ("BDROM"), where Name may be a friendly name from MakeMKV's database. */
  VolumeName: 32,
} as const;

/**
 * The `code` of a CINFO/TINFO/SINFO line whose value is a localised constant: the language-neutral id of that
 * constant, so disc and stream types are read from it rather than from the text.
 */
export const ValueCode = {
  VideoStream: 6201,
  AudioStream: 6202,
  SubtitleStream: 6203,
  DvdDisc: 6206,
  BlurayDisc: 6209,
  HdDvdDisc: 6212,
} as const;
