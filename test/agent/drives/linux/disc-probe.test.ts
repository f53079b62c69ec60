import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyDisc, decodeUdevLabel, parseProperties, probeDisc, probeSettledDisc } from '../../../../agent/drives/linux/disc-probe.js';
import { readDiscStructure } from '../../../../agent/drives/video-structure.js';
import { makeTestDisc, missingTools, tempDir } from '../../disc-fs/test-images.js';
import type { DiscIdentity } from '../../../../agent/drives/drive-source.js';

const FIXTURES = new URL('../../../fixtures/udev/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

const DVD_R_DATA = 'udevadm_query-env_dvd-r_datadisc_arm-issue3_fragment.txt';
const NO_MEDIA = 'udevadm_query-all_no_media_systemd-issue2485_fragment.txt';
const ARM_LOG = 'arm_log_udev_params_dvd_monsters-inc_arm-issue1288_fragment.txt';
const BLKID_EXPORT = 'blkid-p-o-export_generated-my-disc-2_util-linux-2.38.1.txt';
const BLKID_UDEV = 'blkid-p-o-udev_generated-my-disc-2_util-linux-2.38.1.txt';
const BLKID_AMELIE = 'blkid-p-o-udev_generated-amelie_util-linux-2.38.1.txt';

describe('parseProperties on real udevadm output', () => {
  it('reads the data DVD-R fixture (udevadm info -q env, no E: prefix)', () => {
    const props = parseProperties(read(DVD_R_DATA));
    expect(Object.keys(props)).toHaveLength(25);
    expect(props).toMatchObject({
      DEVNAME: '/dev/sr0',
      DEVTYPE: 'disk',
      ID_BUS: 'ata',
      ID_CDROM: '1',
      ID_CDROM_MEDIA: '1',
      ID_CDROM_MEDIA_DVD_R: '1',
      ID_CDROM_MEDIA_SESSION_COUNT: '2',
      ID_CDROM_MEDIA_STATE: 'appendable',
      ID_CDROM_MEDIA_TRACK_COUNT: '2',
    });
    // The value keeps everything after the first '=', escapes included.
    expect(props.DEVLINKS).toContain('/dev/disk/by-label/Mar\\x2031\\x202016');
    expect(props).not.toHaveProperty('ID_CDROM_MEDIA_DVD');
  });

  it('reads the no-media fixture (udevadm info --query=all, E: prefix) and skips P:/N:/S:/L: lines', () => {
    const props = parseProperties(read(NO_MEDIA));
    expect(props.DEVNAME).toBe('/dev/sr0');
    expect(props.ID_BUS).toBe('usb');
    expect(props.ID_CDROM_DVD_R).toBe('1');
    expect(props.ID_MODEL).toBe('DVD-RAM_UJ-850S');
    expect(props.ID_MODEL_ENC).toBe('DVD-RAM\\x20UJ-850S\\x20');
    expect(props.ID_REVISION).toBe('0106');
    expect(Object.keys(props)).toHaveLength(25);
    expect(Object.keys(props).some((key) => key.startsWith('ID_CDROM_MEDIA'))).toBe(false);
    expect(props).not.toHaveProperty('N');
    expect(props).not.toHaveProperty('S');
    expect(Object.keys(props).every((key) => /^[A-Z0-9_]+$/.test(key))).toBe(true);
  });

  it('yields nothing from ARM\'s own KEY:value log format', () => {
    expect(parseProperties(read(ARM_LOG))).toEqual({});
  });

  it('accepts E: prefixed lines, CRLF, blank lines and values containing =', () => {
    expect(parseProperties('E: ID_FS_TYPE=udf\r\n\nE: ID_FS_LABEL=A=B\nID_X=\n')).toEqual({ ID_FS_TYPE: 'udf', ID_FS_LABEL: 'A=B', ID_X: '' });
  });

  it('skips lines without a key, with a lower-case key or without =', () => {
    expect(parseProperties('=value\nlower=1\nNOEQUALS\n  INDENTED=1\nGOOD=1')).toEqual({ GOOD: '1' });
  });

  it('keeps the last value of a repeated key', () => {
    expect(parseProperties('A=1\nA=2')).toEqual({ A: '2' });
  });
});

describe('parseProperties on real blkid output', () => {
  it('reads blkid -o udev: ID_FS_LABEL_ENC decodes to the label', () => {
    const props = parseProperties(read(BLKID_UDEV));
    expect(props.ID_FS_TYPE).toBe('udf');
    expect(props.ID_FS_LABEL).toBe('MY_DISC_2');
    expect(props.ID_FS_LABEL_ENC).toBe('MY\\x20DISC\\x202');
    expect(decodeUdevLabel(props.ID_FS_LABEL_ENC)).toBe('MY DISC 2');
  });

  it('reads the other keys of blkid -p -o export', () => {
    const props = parseProperties(read(BLKID_EXPORT));
    expect(props.TYPE).toBe('udf');
    expect(props.USAGE).toBe('filesystem');
    expect(props.BLOCK_SIZE).toBe('2048');
    expect(props.APPLICATION_ID).toBe('genisoimage');
  });

  it('un-escapes blkid -o export values (LABEL=MY\\ DISC\\ 2 is "MY DISC 2")', () => {
    const props = parseProperties(read(BLKID_EXPORT));
    expect(props.LABEL).toBe('MY DISC 2');
  });
});

describe('decodeUdevLabel', () => {
  it('decodes the Monsters, Inc. label shown in the ARM log', () => {
    const line = read(ARM_LOG)
      .split('\n')
      .find((l) => l.includes('ID_FS_LABEL_ENC:'));
    const value = line?.slice(line.indexOf('ID_FS_LABEL_ENC:') + 'ID_FS_LABEL_ENC:'.length);
    expect(value).toBe('Monsters\\x2c\\x20Inc.');
    expect(decodeUdevLabel(value)).toBe('Monsters, Inc.');
    expect(decodeUdevLabel('Monsters\\x2c\\x20Inc.')).toBe('Monsters, Inc.');
  });

  it('decodes the drive model from the no-media fixture', () => {
    expect(decodeUdevLabel(parseProperties(read(NO_MEDIA)).ID_MODEL_ENC)).toBe('DVD-RAM UJ-850S ');
  });

  it('decodes escaped UTF-8 byte sequences into characters', () => {
    expect(decodeUdevLabel('Am\\xc3\\xa9lie')).toBe('Amélie');
    expect(decodeUdevLabel('\\xe6\\xbc\\xa2\\xe5\\xad\\x97')).toBe('漢字');
  });

  it('keeps unescaped non-ASCII text (BMP) as it is', () => {
    expect(decodeUdevLabel('Amélie 漢字')).toBe('Amélie 漢字');
  });

  it('keeps the raw UTF-8 label of our blkid -o udev capture ("Amélie")', () => {
    const props = parseProperties(read(BLKID_AMELIE));
    expect(props.ID_FS_LABEL_ENC).toBe('Amélie');
    expect(decodeUdevLabel(props.ID_FS_LABEL_ENC)).toBe('Amélie');
  });

  it('keeps an unescaped character outside the BMP (emoji) as it is', () => {
    expect(decodeUdevLabel('Disc \u{1F600}')).toBe('Disc \u{1F600}');
  });

  it('accepts upper-case hex and leaves malformed escapes alone', () => {
    expect(decodeUdevLabel('A\\x2CB')).toBe('A,B');
    expect(decodeUdevLabel('A\\x2')).toBe('A\\x2');
    expect(decodeUdevLabel('A\\xZZ')).toBe('A\\xZZ');
    expect(decodeUdevLabel('back\\slash')).toBe('back\\slash');
  });

  it('passes undefined and empty through', () => {
    expect(decodeUdevLabel(undefined)).toBeUndefined();
    expect(decodeUdevLabel('')).toBe('');
  });
});

describe('classifyDisc', () => {
  const dvdR = parseProperties(read(DVD_R_DATA));
  const noMedia = parseProperties(read(NO_MEDIA));

  it('calls the data DVD-R "data" when it has a filesystem and no VIDEO_TS', () => {
    expect(classifyDisc(dvdR, 'iso9660', { videoTs: false })).toBe('data');
    expect(classifyDisc(dvdR, 'udf', { videoTs: false })).toBe('data');
  });

  it('calls the same DVD-R "dvd" when VIDEO_TS is present', () => {
    expect(classifyDisc(dvdR, 'udf', { videoTs: true })).toBe('dvd');
  });

  it('calls the DVD-R "unknown" without a filesystem or VIDEO_TS', () => {
    expect(classifyDisc(dvdR, undefined, { videoTs: false })).toBe('unknown');
  });

  it('calls the no-media drive "unknown" without a filesystem, despite its capability flags', () => {
    expect(classifyDisc(noMedia, undefined, { videoTs: false })).toBe('unknown');
  });

  it('calls a Blu-ray by any ID_CDROM_MEDIA_BD* flag, before anything else', () => {
    expect(classifyDisc({ ID_CDROM_MEDIA: '1', ID_CDROM_MEDIA_BD: '1' }, 'udf', { videoTs: false })).toBe('bluray');
    expect(classifyDisc({ ...dvdR, ID_CDROM_MEDIA_DVD_R: '0', ID_CDROM_MEDIA_BD_R: '1' }, 'udf', { videoTs: true })).toBe('bluray');
    expect(classifyDisc({ ID_CDROM_MEDIA_BD_RE: '1' }, undefined, { videoTs: false })).toBe('bluray');
  });

  it('ignores a BD flag that is not 1, and a drive capability flag (not MEDIA)', () => {
    expect(classifyDisc({ ID_CDROM_MEDIA_BD: '0' }, 'udf', { videoTs: false })).toBe('data');
    expect(classifyDisc({ ID_CDROM_BD: '1', ID_CDROM_BD_R: '1' }, undefined, { videoTs: false })).toBe('unknown');
  });

  it('calls an audio CD "cd" only without a filesystem', () => {
    expect(classifyDisc({ ID_CDROM_MEDIA_CD: '1', ID_CDROM_MEDIA_TRACK_COUNT_AUDIO: '12' }, undefined, { videoTs: false })).toBe('cd');
    // An enhanced CD: audio tracks and a data session with a file system.
    expect(classifyDisc({ ID_CDROM_MEDIA_CD: '1', ID_CDROM_MEDIA_TRACK_COUNT_AUDIO: '3', ID_CDROM_MEDIA_TRACK_COUNT_DATA: '1' }, 'iso9660', { videoTs: false })).toBe('cd');
    expect(classifyDisc({ ID_CDROM_MEDIA_TRACK_COUNT_AUDIO: '0' }, undefined, { videoTs: false })).toBe('unknown');
  });

  it('calls VIDEO_TS on a plain image (no udev properties) "dvd"', () => {
    expect(classifyDisc({}, 'udf', { videoTs: true })).toBe('dvd');
    expect(classifyDisc({}, undefined, { videoTs: false })).toBe('unknown');
  });

  it('classifies the properties of our blkid capture as data (no VIDEO_TS check here)', () => {
    const blkid = parseProperties(read(BLKID_EXPORT));
    expect(classifyDisc({}, blkid.TYPE, { videoTs: false })).toBe('data');
  });

  it('calls BDMV/index.bdmv "bluray" and VIDEO_TS "dvd", with the udev BD flag still first', () => {
    expect(classifyDisc({}, 'udf', { videoTs: false, bdmv: true })).toBe('bluray');
    expect(classifyDisc(dvdR, 'udf', { videoTs: false, bdmv: true })).toBe('bluray'); // BDMV on DVD media (AVCHD, BD-5/9)
    expect(classifyDisc({}, 'udf', { videoTs: true, bdmv: true })).toBe('bluray');
    expect(classifyDisc({}, 'udf', { videoTs: true, bdmv: false })).toBe('dvd');
    expect(classifyDisc({ ID_CDROM_MEDIA_BD: '1' }, 'udf', { videoTs: true, bdmv: false })).toBe('bluray');
    expect(classifyDisc({}, 'iso9660', { videoTs: false, bdmv: false })).toBe('data');
    expect(classifyDisc({}, undefined, {})).toBe('unknown');
    expect(classifyDisc({ ID_CDROM_MEDIA_TRACK_COUNT_AUDIO: '9' }, undefined, { videoTs: false, bdmv: false })).toBe('cd');
  });
});

const skipImages = missingTools(['ffmpeg', 'ffmpeg'], ['dvdauthor', 'dvdauthor'], ['genisoimage', 'genisoimage'], ['isoinfo', 'genisoimage'], ['node', 'nodejs'], ['udfinfo', 'udftools']);

describe.skipIf(skipImages)('readDiscStructure: VIDEO_TS and BDMV, read without isoinfo', () => {
  const temp = tempDir('disc-probe');
  const images: Record<'dvd' | 'data' | 'bluray', string> = { dvd: '', data: '', bluray: '' };
  beforeAll(() => {
    images.dvd = makeTestDisc(temp.dir, 'dvd.iso', ['--title', '3:1', '--size', '352x240', '--label', 'PROBE_DVD']);
    images.data = makeTestDisc(temp.dir, 'data.iso', ['--data', '--size-mb', '2', '--label', 'PROBE_DATA']);
    images.bluray = makeTestDisc(temp.dir, 'bluray.iso', ['--bluray', '--label', 'PROBE_BD']);
  }, 60_000);
  afterAll(() => temp.remove());

  it('reads image files', async () => {
    expect(await readDiscStructure(images.dvd)).toEqual({ videoTs: true, bdmv: false });
    expect(await readDiscStructure(images.data)).toEqual({ videoTs: false, bdmv: false });
    expect(await readDiscStructure(images.bluray)).toEqual({ videoTs: false, bdmv: true });
  });

  it('says neither for a path that cannot be opened or is not a disc', async () => {
    expect(await readDiscStructure(`${temp.dir}/missing.iso`)).toEqual({ videoTs: false, bdmv: false });
    expect(await readDiscStructure(temp.dir)).toEqual({ videoTs: false, bdmv: false });
    expect(await readDiscStructure('/dev/null')).toEqual({ videoTs: false, bdmv: false });
  });

  const noLoop = process.getuid?.() !== 0 ? 'attaching images to loop devices needs root (CI runs as root)' : !existsSync('/dev/loop-control') ? 'no loop device support' : undefined;
  it.skipIf(noLoop)('probes each image on a loop device: the disc type from the disc itself', async () => {
    for (const [name, type] of [['dvd', 'dvd'], ['data', 'data'], ['bluray', 'bluray']] as const) {
      // Loop devices are shared by the machine: use the one losetup printed, detach only that one.
      const device = execFileSync('losetup', ['-f', '--show', '-r', images[name]], { encoding: 'utf8' }).trim();
      try {
        const identity = await probeDisc(device);
        expect(identity.discType, name).toBe(type);
        if (identity.fsType) expect(identity.fsType).toBe(name === 'data' ? 'iso9660' : 'udf');
      } finally {
        execFileSync('losetup', ['-d', device]);
      }
    }
  });
});

describe('probeSettledDisc', () => {
  const quick = { attempts: 4, delayMs: 1 };
  const answers = (...identities: DiscIdentity[]) => {
    const asked: string[] = [];
    const probe = async (device: string) => {
      asked.push(device);
      return identities[Math.min(asked.length, identities.length) - 1]!;
    };
    return { asked, probe };
  };
  const blank: DiscIdentity = { volumeLabel: '', discType: 'unknown' };

  it('reads a disc that showed nothing at first again, and takes what it shows once readable', async () => {
    const { asked, probe } = answers(blank, blank, { volumeLabel: 'E2E_SHORT', fsType: 'udf', discType: 'dvd' });
    await expect(probeSettledDisc('/dev/sr0', probe, quick)).resolves.toEqual({ volumeLabel: 'E2E_SHORT', fsType: 'udf', discType: 'dvd' });
    expect(asked).toEqual(['/dev/sr0', '/dev/sr0', '/dev/sr0']);
  });

  it('gives a blank disc up as unknown after the last attempt', async () => {
    const { asked, probe } = answers(blank);
    await expect(probeSettledDisc('/dev/sr0', probe, quick)).resolves.toEqual(blank);
    expect(asked).toHaveLength(4);
  });

  it('asks once when the first look finds a kind, a file system or a label', async () => {
    for (const first of [{ volumeLabel: '', discType: 'cd' as const }, { volumeLabel: '', fsType: 'iso9660', discType: 'unknown' as const }, { volumeLabel: 'X', discType: 'unknown' as const }]) {
      const { asked, probe } = answers(first, { volumeLabel: 'later', discType: 'dvd' });
      await expect(probeSettledDisc('/dev/sr0', probe, quick)).resolves.toEqual(first);
      expect(asked).toHaveLength(1);
    }
  });
});
