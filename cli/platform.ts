// What differs by platform in the settings' defaults. A Windows service runs in System32, so on Windows nothing
// defaults to a path relative to the working folder: data, settings, logs and rips live under %ProgramData%, and
// tools are looked for in the folders their installers use before PATH.
import { existsSync } from 'node:fs';
import { win32 } from 'node:path';

export const onWindows = process.platform === 'win32';

/** %ProgramData%\discbridge: the Windows station's folder for its data, settings and logs. */
export function programDataFolder(env: NodeJS.ProcessEnv = process.env): string {
  return win32.join(env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData', 'discbridge');
}

/** A path under the station's folder on Windows; the Linux default (relative to where it runs) elsewhere. */
export function stationPath(windowsName: string, linuxDefault: string): string {
  return onWindows ? win32.join(programDataFolder(), windowsName) : linuxDefault;
}

/** %ProgramData%\discbridge\logs\discbridge.log: where a Windows station logs by default (a service has no journal). */
export function stationLogFile(): string {
  return win32.join(programDataFolder(), 'logs', 'discbridge.log');
}

/**
 * A tool's default: on Windows the first of its usual install folders that holds it (else its .exe name, found on
 * PATH); elsewhere its name on PATH.
 */
export function toolDefault(linuxName: string, windowsExe: string, windowsFolders: readonly (string | undefined)[] = []): string {
  if (!onWindows) return linuxName;
  for (const folder of windowsFolders) {
    if (folder === undefined) continue;
    const candidate = win32.join(folder, windowsExe);
    if (existsSync(candidate)) return candidate;
  }
  return windowsExe;
}

/** The Program Files folders, where installers put MakeMKV (32-bit folder) and HandBrake. */
export function programFiles(subfolder: string, env: NodeJS.ProcessEnv = process.env): (string | undefined)[] {
  return [env['ProgramFiles(x86)'], env.ProgramFiles, 'C:\\Program Files (x86)', 'C:\\Program Files']
    .map((root) => root && win32.join(root, subfolder));
}
