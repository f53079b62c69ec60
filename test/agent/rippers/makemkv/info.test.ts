// interpretInfo on every real capture of an `info`-like run. Expected values were read from the fixture files
// by eye (grep), never computed with the code under test.
import { describe, it, expect } from 'vitest';
import { interpretInfo } from '../../../../agent/rippers/makemkv/info.js';
import { MsgCode } from '../../../../agent/rippers/makemkv/codes.js';
import { fixtureLines } from './fixtures.js';

const NO_FLAGS = { dvd: false, hddvd: false, bluray: false, aacs: false, bdplus: false };
const BLURAY_AACS = { ...NO_FLAGS, bluray: true, aacs: true };
const DVD = { ...NO_FLAGS, dvd: true };

describe('bluray_info_pipeline-mkv_demonslayer_v1.18.1.txt', () => {
  const info = interpretInfo(fixtureLines('bluray_info_pipeline-mkv_demonslayer_v1.18.1.txt'));
  const name = 'Demon Slayer: Kimetsu no Yaiba Swordsmith Village Arc Complete Blu-ray Set Standard Edition Disc 1';

  it('reads the version, the one real drive and the disc', () => {
    expect(info.version).toBe('1.18.1');
    expect(info.platform).toBe('linux(x64-release)');
    expect(info.drives).toEqual([
      {
        index: 0,
        state: 'inserted',
        driveName: 'BD-RE ASUS BW-16D1HT 3.10 KL7L9D92707',
        discName: 'BDROM',
        devicePath: '/dev/sr0',
        discFlags: BLURAY_AACS,
      },
    ]);
    expect(info.disc).toEqual({ type: 'bluray', name, volumeName: 'BDROM' });
  });

  it('reads the single title', () => {
    expect(info.titles).toHaveLength(1);
    const { streams, ...title } = info.titles[0]!;
    expect(title).toEqual({
      index: 0,
      name,
      durationSeconds: 1 * 3600 + 37 * 60 + 28,
      chapters: 21,
      sizeBytes: 31843694592,
      sizeText: '29.6 GB',
      sourceFile: '00000.mpls',
      segmentsCount: 4,
      segmentsMap: '0,1,2,3',
      outputFileName:
        'Demon Slayer- Kimetsu no Yaiba Swordsmith Village Arc Complete Blu-ray Set Standard Edition Disc 1_t00.mkv',
    });
    expect(streams).toHaveLength(7);
  });

  it('reads video, LPCM audio in two languages and PGS subtitles with their forced flags', () => {
    const [video, english, japanese, ...subtitles] = info.titles[0]!.streams;
    expect(video).toEqual({
      index: 0,
      kind: 'video',
      codecId: 'V_MPEG4/ISO/AVC',
      codecShort: 'Mpeg4',
      codecLong: 'Mpeg4 AVC High@L4.1',
      videoSize: '1920x1080',
      frameRate: '23.976 (24000/1001)',
      flags: 0,
    });
    expect(english).toEqual({
      index: 1,
      kind: 'audio',
      languageCode: 'eng',
      languageName: 'English',
      codecId: 'A_PCM/INT/LIT',
      codecShort: 'LPCM',
      codecLong: 'Linear PCM',
      channels: 2,
      flags: 0,
    });
    expect(japanese).toMatchObject({ index: 2, kind: 'audio', languageCode: 'jpn', languageName: 'Japanese' });
    expect(subtitles.map((s) => [s.index, s.kind, s.languageCode, s.codecId, s.flags])).toEqual([
      [3, 'subtitle', 'eng', 'S_HDMV/PGS', 0],
      [4, 'subtitle', 'eng', 'S_HDMV/PGS', 6144],
      [5, 'subtitle', 'eng', 'S_HDMV/PGS', 0],
      [6, 'subtitle', 'eng', 'S_HDMV/PGS', 6144],
    ]);
  });

  it('keeps every message, including the evaluation notices, and does not call it a failure', () => {
    expect(info.messages).toHaveLength(16);
    expect(info.messages[0]).toEqual({ code: 1005, message: 'MakeMKV v1.18.1 linux(x64-release) started' });
    expect(info.messages.map((m) => m.code)).toEqual(
      expect.arrayContaining([MsgCode.SharewarePrompt, MsgCode.EvaluationRemaining, MsgCode.OperationCompleted]),
    );
    expect(info.failure).toBeUndefined();
    expect(info.unknownText).toEqual([]);
  });
});

describe('dvd_info_rakemkv_dime_ntsc_v1.8.3.txt', () => {
  const info = interpretInfo(fixtureLines('dvd_info_rakemkv_dime_ntsc_v1.8.3.txt'));

  it('reads an old (1.8.3) DVD run', () => {
    expect(info.version).toBe('1.8.3');
    expect(info.drives).toEqual([
      {
        index: 0,
        state: 'inserted',
        driveName: 'DVD+R-DL MATSHITA DVD-RAM UJ8C2 SB01',
        discName: 'DIME_NTSC',
        devicePath: '/dev/sr0',
        discFlags: DVD,
      },
    ]);
    expect(info.disc).toEqual({ type: 'dvd', name: 'DIME_NTSC', volumeName: 'DIME_NTSC' });
    expect(info.failure).toBeUndefined();
    expect(info.messages).toHaveLength(26);
  });

  it('reads twelve titles with durations, chapters and sizes in bytes', () => {
    expect(info.titles.map((t) => [t.index, t.durationSeconds, t.chapters, t.sizeBytes])).toEqual([
      [0, 1 * 3600 + 46 * 60 + 52, 24, 4958869504],
      [1, 2 * 60 + 2, 3, 80244736],
      [2, 3 * 60 + 28, 1, 138561536],
      [3, 2 * 60 + 32, 1, 98025472],
      [4, 9 * 60 + 1, 1, 345466880],
      [5, 8 * 60 + 39, 1, 321470464],
      [6, 6 * 60 + 19, 1, 250691584],
      [7, 6 * 60 + 19, 1, 211126272],
      [8, 6 * 60 + 19, 1, 216555520],
      [9, 6 * 60 + 54, 1, 261691392],
      [10, 6 * 60 + 54, 1, 235706368],
      [11, 6 * 60 + 54, 1, 228376576],
    ]);
  });

  it('reads the DVD title numbers, the angles and the old output file names; DVD titles have no name', () => {
    expect(info.titles.map((t) => [t.originalTitleId, t.angle, t.outputFileName])).toEqual([
      [1, undefined, 'title00.mkv'],
      [2, undefined, 'title01.mkv'],
      [5, undefined, 'title02.mkv'],
      [6, undefined, 'title03.mkv'],
      [7, undefined, 'title04.mkv'],
      [8, undefined, 'title05.mkv'],
      [12, 1, 'title06.mkv'],
      [12, 2, 'title07.mkv'],
      [12, 3, 'title08.mkv'],
      [13, 1, 'title09.mkv'],
      [13, 2, 'title10.mkv'],
      [13, 3, 'title11.mkv'],
    ]);
    expect(info.titles.every((t) => t.name === undefined && t.sourceFile === undefined)).toBe(true);
    expect(info.titles[0]).toMatchObject({ sizeText: '4.6 GB', segmentsCount: 1, segmentsMap: '1-25' });
  });

  it('reads the main title: MPEG-2 video, AC3 and DTS 5.1 audio, English and Spanish VobSub', () => {
    expect(info.titles[0]!.streams).toEqual([
      {
        index: 0,
        kind: 'video',
        codecId: 'V_MPEG2',
        codecShort: 'Mpeg2',
        codecLong: 'Mpeg2',
        videoSize: '720x480',
        frameRate: '29.97 (30000/1001)',
        flags: 0,
      },
      {
        index: 1,
        kind: 'audio',
        languageCode: 'eng',
        languageName: 'English',
        codecId: 'A_AC3',
        codecShort: 'DD',
        codecLong: 'Dolby Digital',
        channels: 6,
        flags: 0,
      },
      {
        index: 2,
        kind: 'audio',
        languageCode: 'eng',
        languageName: 'English',
        codecId: 'A_DTS',
        codecShort: 'DTS',
        codecLong: 'DTS',
        channels: 6,
        flags: 0,
      },
      // codecShort is "" in the capture, so it is left out.
      {
        index: 3,
        kind: 'subtitle',
        languageCode: 'eng',
        languageName: 'English',
        codecId: 'S_VOBSUB',
        codecLong: 'Dvd Subtitles',
        flags: 0,
      },
      {
        index: 4,
        kind: 'subtitle',
        languageCode: 'spa',
        languageName: 'Spanish',
        codecId: 'S_VOBSUB',
        codecLong: 'Dvd Subtitles',
        flags: 0,
      },
    ]);
    expect(info.titles[1]!.streams.map((s) => [s.kind, s.codecId, s.channels])).toEqual([
      ['video', 'V_MPEG2', undefined],
      ['audio', 'A_AC3', 2],
    ]);
  });
});

describe('dvd_info_automakemkv_mrpoppers_v1.16.5.txt', () => {
  const info = interpretInfo(fixtureLines('dvd_info_automakemkv_mrpoppers_v1.16.5.txt'));

  it('reads the version, the drive and the disc, and is not a failure despite the new-version notice', () => {
    expect(info.version).toBe('1.16.5');
    expect(info.drives).toEqual([
      {
        index: 0,
        state: 'inserted',
        driveName: 'BD-RE ASUS BW-16D1HT 3.10 KLZK15I2720',
        discName: 'MR_POPPERS_PENGUINS',
        devicePath: '/dev/sr0',
        discFlags: DVD,
      },
    ]);
    expect(info.disc).toEqual({ type: 'dvd', name: 'MR_POPPERS_PENGUINS', volumeName: 'MR_POPPERS_PENGUINS' });
    expect(info.messages).toHaveLength(30);
    expect(info.messages[1]).toEqual({
      code: MsgCode.NewVersionAvailable,
      message: 'The new version 1.17.3 is available for download at http://www.makemkv.com/download/',
    });
    expect(info.failure).toBeUndefined();
  });

  it('reads eight titles; "01" style DVD title numbers become numbers', () => {
    expect(
      info.titles.map((t) => [
        t.index,
        t.durationSeconds,
        t.chapters,
        t.sizeBytes,
        t.originalTitleId,
        t.outputFileName,
      ]),
    ).toEqual([
      [0, 6 * 60 + 9, 1, 248090624, 1, 'title_t00.mkv'],
      [1, 2 * 60 + 6, 1, 87085056, 2, 'title_t01.mkv'],
      [2, 8 * 60 + 27, 1, 362412032, 3, 'title_t02.mkv'],
      [3, 5 * 60 + 55, 1, 252942336, 4, 'title_t03.mkv'],
      [4, 2 * 60 + 56, 1, 122025984, 8, 'title_t04.mkv'],
      [5, 2 * 60 + 9, 2, 83556352, 9, 'title_t05.mkv'],
      [6, 1 * 3600 + 34 * 60 + 2, 24, 6021656576, 13, 'title_t06.mkv'],
      [7, 2 * 60 + 22, 3, 97673216, 23, 'title_t07.mkv'],
    ]);
    expect(info.titles[5]).toMatchObject({ segmentsCount: 3, segmentsMap: '1-2,3-4,5' });
  });

  it('reads the feature: five audio tracks in three languages, four VobSub and one closed-caption track', () => {
    const streams = info.titles[6]!.streams;
    expect(streams.map((s) => [s.index, s.kind, s.languageCode, s.codecId, s.channels])).toEqual([
      [0, 'video', undefined, 'V_MPEG2', undefined],
      [1, 'audio', 'eng', 'A_AC3', 6],
      [2, 'audio', 'eng', 'A_AC3', 6],
      [3, 'audio', 'spa', 'A_AC3', 2],
      [4, 'audio', 'fre', 'A_AC3', 2],
      [5, 'audio', 'eng', 'A_AC3', 2],
      [6, 'subtitle', 'eng', 'S_VOBSUB', undefined],
      [7, 'subtitle', 'spa', 'S_VOBSUB', undefined],
      [8, 'subtitle', 'spa', 'S_VOBSUB', undefined],
      [9, 'subtitle', 'fre', 'S_VOBSUB', undefined],
      [10, 'subtitle', 'eng', 'S_CC608/DVD', undefined],
    ]);
    expect(streams[10]).toMatchObject({ codecShort: 'CC', codecLong: 'Closed Captions' });
  });
});

describe('drivelist_5drives_1bd_node-makemkv_v1.10.8.txt', () => {
  const lines = fixtureLines('drivelist_5drives_1bd_node-makemkv_v1.10.8.txt');
  const listing = interpretInfo(lines, { driveListing: true });

  it('lists five drives whose MakeMKV index is not the OS order', () => {
    const empty = (index: number, model: string, devicePath: string) => ({
      index,
      state: 'empty',
      driveName: `BD-ROM HL-DT-ST BDDVDRW ${model}`,
      discName: '',
      devicePath,
      discFlags: NO_FLAGS,
    });
    expect(listing.version).toBe('1.10.8');
    expect(listing.drives).toEqual([
      empty(0, 'UH12NS30 1.03', '/dev/sr4'),
      empty(1, 'CH10LS28 1.00', '/dev/sr3'),
      empty(2, 'UH12LS29 1.00', '/dev/sr2'),
      empty(3, 'CH10LS28 1.00', '/dev/sr1'),
      {
        index: 4,
        state: 'inserted',
        driveName: 'BD-ROM HL-DT-ST BDDVDRW CH10LS28 1.00',
        discName: 'THE_UNIVERSE_3D',
        devicePath: '/dev/sr0',
        discFlags: BLURAY_AACS,
      },
    ]);
    expect(listing.disc).toBeUndefined();
    expect(listing.titles).toEqual([]);
  });

  it('surfaces the usage text, which is expected for a drive listing but a failure otherwise', () => {
    expect(listing.unknownText).toHaveLength(17);
    expect(listing.unknownText[0]).toBe('Use: makemkvcon [switches] Command [Parameters]');
    expect(listing.unknownText.at(-1)).toBe(
      '  -r --robot        - turn on "robot" mode, see http://www.makemkv.com/developers',
    );
    expect(listing.failure).toBeUndefined();
    expect(interpretInfo(lines).failure?.kind).toBe('usage');
  });
});

describe('nodrive_info_macos_makemkv-headless_v1.18.1.txt', () => {
  const lines = fixtureLines('nodrive_info_macos_makemkv-headless_v1.18.1.txt');

  it('reads a macOS run with no usable drive as no_drive, even when only listing drives', () => {
    const info = interpretInfo(lines);
    expect(info.version).toBe('1.18.1');
    expect(info.platform).toBe('darwin(arm64-release)');
    expect(info.drives).toEqual([]);
    expect(info.titles).toEqual([]);
    expect(info.messages.map((m) => m.code)).toEqual([1005, 1004, 5042, 2024, 5010]);
    expect(info.failure).toEqual({
      kind: 'no_drive',
      message: "MakeMKV can't find any usable optical drive: check that the drive is connected and that discbridge may use it",
    });
    expect(interpretInfo(lines, { driveListing: true }).failure?.kind).toBe('no_drive');
  });
});

describe('error_nodrives_version-too-old_jlesage-docker-makemkv-issue163_v1.17.1.txt', () => {
  it('reports the expired key before the missing drives, because nothing works until it is fixed', () => {
    const info = interpretInfo(
      fixtureLines('error_nodrives_version-too-old_jlesage-docker-makemkv-issue163_v1.17.1.txt'),
    );
    expect(info.version).toBe('1.17.1');
    expect(info.drives).toEqual([]);
    expect(info.messages.map((m) => m.code)).toEqual([1005, 5075, 3338, 5042, 5021]);
    expect(info.failure).toEqual({
      kind: 'expired',
      message: "MakeMKV's key has expired or this version is too old: update MakeMKV or enter a registration key",
    });
  });
});

describe('error_dvd_info_region-rpc_read-errors_rakemkv_v1.8.3.txt', () => {
  const lines = fixtureLines('error_dvd_info_region-rpc_read-errors_rakemkv_v1.8.3.txt');

  it('reports the region lock (RPC), not the read errors or "failed to open" that follow it', () => {
    const info = interpretInfo(lines);
    expect(info.drives).toEqual([
      {
        index: 0,
        state: 'inserted',
        driveName: 'DVD+R-DL MATSHITA DVD-RAM UJ8C2 SB01',
        discName: 'TRANFORMERS',
        devicePath: '/dev/sr0',
        discFlags: DVD,
      },
    ]);
    expect(info.titles).toEqual([]);
    expect(info.disc).toBeUndefined();
    expect(info.messages.filter((m) => m.code === MsgCode.ReadError)).toHaveLength(10);
    expect(info.messages.at(-1)).toEqual({ code: MsgCode.FailedToOpenDisc, message: 'Failed to open disc' });
    expect(info.failure).toEqual({
      kind: 'region',
      message: "The disc's region does not match the drive's region (RPC): use a drive set to the disc's region",
    });
  });
});

describe('error_bad_cmdline_usage_text_arm-issue622.txt', () => {
  it('reports the usage text as a usage failure and keeps its lines', () => {
    const info = interpretInfo(fixtureLines('error_bad_cmdline_usage_text_arm-issue622.txt'));
    expect(info.version).toBeUndefined();
    expect(info.messages).toEqual([]);
    expect(info.unknownText).toHaveLength(19);
    expect(info.unknownText[0]).toBe('Use: makemkvcon [switches] Command [Parameters]');
    expect(info.failure).toEqual({
      kind: 'usage',
      message: 'makemkvcon did not accept its command line and printed its usage text: please report this discbridge bug',
    });
  });
});

describe('fragment_error_read_medium-error_arm-issue810.txt', () => {
  it('reports five medium errors as read errors', () => {
    const info = interpretInfo(fixtureLines('fragment_error_read_medium-error_arm-issue810.txt'));
    expect(info.messages).toHaveLength(5);
    expect(info.messages.every((m) => m.code === MsgCode.ReadError)).toBe(true);
    expect(info.failure).toEqual({
      kind: 'read_error',
      message: 'Read errors on the disc (5 read errors): clean the disc or try another drive',
    });
  });

  it('does not fail on its first read error alone, like the one a CSS DVD gives before authentication', () => {
    const first = fixtureLines('fragment_error_read_medium-error_arm-issue810.txt').slice(0, 1);
    expect(interpretInfo(first).failure).toBeUndefined();
  });
});

describe('fragment_error_scsi2004_qemu_mkv_arm-issue720_v1.17.3.txt', () => {
  it('reports the SCSI error and a VM drive with a disc but no DVD/BD flags', () => {
    const info = interpretInfo(fixtureLines('fragment_error_scsi2004_qemu_mkv_arm-issue720_v1.17.3.txt'));
    expect(info.version).toBe('1.17.3');
    expect(info.drives).toEqual([
      {
        index: 0,
        state: 'inserted',
        driveName: 'DVD-ROM QEMU QEMU DVD-ROM 2.5+',
        discName: '',
        devicePath: '/dev/sr0',
        discFlags: NO_FLAGS,
      },
    ]);
    expect(info.failure).toEqual({
      kind: 'scsi_error',
      message: 'The drive reported a SCSI error: check its cable or USB bridge, or pass the drive through if this is a VM',
    });
  });
});

describe('fragment_bluray_dvd_attrs_arm-wiki-makemkv-codes.txt', () => {
  const info = interpretInfo(fixtureLines('fragment_bluray_dvd_attrs_arm-wiki-makemkv-codes.txt'));

  it('reads the Blu-ray disc despite the trailing space after its type', () => {
    expect(info.disc).toEqual({ type: 'bluray', name: 'Breaking Bad: Season 1: Disc 1', volumeName: 'BREAKINGBADS1' });
    expect(info.unknownText).toEqual([]);
    expect(info.failure).toBeUndefined();
  });

  it('reads title 0, and a title 3 that only has SINFO lines (from another disc in the source)', () => {
    expect(info.titles.map((t) => t.index)).toEqual([0, 3]);
    const { streams, ...title } = info.titles[0]!;
    expect(title).toEqual({
      index: 0,
      name: 'Breaking Bad: Season 1: Disc 1',
      durationSeconds: 58 * 60 + 6,
      chapters: 7,
      sizeBytes: 13472686080,
      sizeText: '12.5 GB',
      sourceFile: '00763.mpls',
      segmentsCount: 1,
      segmentsMap: '262',
      outputFileName: 'Breaking_Bad_Season_1_Disc_1_t00.mkv',
    });
    expect(streams).toEqual([]);
    expect(info.titles[1]).toEqual({
      index: 3,
      durationSeconds: 0,
      chapters: 0,
      sizeBytes: 0,
      streams: [
        {
          index: 0,
          kind: 'video',
          codecId: 'V_MPEG2',
          codecShort: 'Mpeg2',
          codecLong: 'Mpeg2',
          videoSize: '720x576',
          frameRate: '25',
          flags: 0,
        },
      ],
    });
  });

  it('reads the DRV line at the end of the fragment', () => {
    expect(info.drives).toEqual([
      {
        index: 0,
        state: 'inserted',
        driveName: 'DVD-ROM TEAC DVD-ROM DV28SV R.0C',
        discName: 'WRATH_OF_THE_TITANS',
        devicePath: '/dev/sr0',
        discFlags: DVD,
      },
    ]);
  });
});

describe('fragment_dvd_info_progress_arm-issue626_v1.17.2.txt', () => {
  it("reads the drive and keeps the reporter's '...' elisions as unknown text", () => {
    const info = interpretInfo(fixtureLines('fragment_dvd_info_progress_arm-issue626_v1.17.2.txt'));
    expect(info.version).toBe('1.17.2');
    expect(info.drives).toEqual([
      {
        index: 0,
        state: 'inserted',
        driveName: 'DVD+R-DL HL-DT-ST DVDRAM GP08NU20 1.01 ;9:3;5GO',
        discName: 'MACHOMAN',
        devicePath: '/dev/sr0',
        discFlags: DVD,
      },
    ]);
    expect(info.unknownText).toEqual(['...', '...', '...', '...', '...', '...']);
    expect(info.messages.map((m) => m.code)).toEqual([1005, 3007, 3028]);
    expect(info.failure).toBeUndefined();
  });
});
