// Reads HandBrakeCLI's human progress lines ("Encoding: task 1 of 2, 45.21 % (55.92 fps, avg 58.64 fps, ETA 00h00m42s)").
// HandBrake ends them with \r, not \n, and its stderr log lines can land on the same line, so the pattern is unanchored.
export interface HandBrakeProgress {
  pass: number;
  passCount: number;
  /** 0..100 within the current pass. */
  passPercent: number;
  /** 0..1 over all passes. */
  fraction: number;
  fps?: number;
  avgFps?: number;
  etaSeconds?: number;
}

const ENCODING = /Encoding: task (\d+) of (\d+), ([\d.]+) %(?: \(([\d.]+) fps, avg ([\d.]+) fps, ETA (\d+)h(\d+)m(\d+)s\))?/;

export function parseHandBrakeProgress(line: string): HandBrakeProgress | undefined {
  const match = ENCODING.exec(line);
  if (!match) return undefined;
  const [, pass, passCount, percent, fps, avgFps, h, m, s] = match;
  const passNumber = Number(pass);
  const passes = Math.max(1, Number(passCount));
  const passPercent = clamp(Number(percent), 0, 100);
  const progress: HandBrakeProgress = {
    pass: passNumber,
    passCount: passes,
    passPercent,
    fraction: clamp((passNumber - 1 + passPercent / 100) / passes, 0, 1),
  };
  if (fps !== undefined) progress.fps = Number(fps);
  if (avgFps !== undefined) progress.avgFps = Number(avgFps);
  if (h !== undefined && m !== undefined && s !== undefined) progress.etaSeconds = Number(h) * 3600 + Number(m) * 60 + Number(s);
  return progress;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
