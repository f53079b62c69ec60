// The table of contents of an audio CD, as every part of the audio-CD layer passes it around: where each track starts
// and how long it is (in sectors of 1/75 s), and the disc's CD-Text.
export interface CdTrack {
  number: number;
  /** Logical sector number: sector 0 is where the first track begins (MSF 00:02:00). */
  startLsn: number;
  /** Up to the next track's start, or to the lead-out for the last track. */
  lengthSectors: number;
  /** false for a data track (an enhanced or mixed-mode CD). */
  audio: boolean;
  title?: string;
  performer?: string;
}

export interface CdToc {
  firstTrack: number;
  lastTrack: number;
  leadOutLsn: number;
  tracks: CdTrack[];
  album?: string;
  performer?: string;
  /** Media catalog number (the disc's barcode), 13 digits. */
  catalog?: string;
}

/** 2352 bytes of 16-bit stereo PCM: 1/75 s of audio. */
export const SECTOR_BYTES = 2352;
export const SECTORS_PER_SECOND = 75;
