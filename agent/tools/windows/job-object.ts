// Windows: the agent and every tool it starts share one job object that ends them all when the agent ends, however
// it ends (a crash, a kill from Task Manager, the service stopped hard). Linux finds such leftovers at the next start
// in /proc (agent/jobs/recovery.ts); Windows needs no search: the job object leaves none.
import { nativeLibrary } from '../native-library.js';

const JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9;
const JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000;
/** sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION) on x64; LimitFlags sits at byte 16. */
const EXTENDED_LIMIT_BYTES = 144;
const LIMIT_FLAGS_OFFSET = 16;

/** Puts this process in a new job that kills its members when its last handle (this process's) closes. */
export function endToolsWithThisProcess(): void {
  const kernel32 = nativeLibrary('kernel32.dll');
  const CreateJobObjectW = kernel32.func('void *CreateJobObjectW(void *security, const char16_t *name)');
  const SetInformationJobObject = kernel32.func('bool SetInformationJobObject(void *job, int infoClass, void *info, uint32_t size)');
  const AssignProcessToJobObject = kernel32.func('bool AssignProcessToJobObject(void *job, void *process)');
  const GetCurrentProcess = kernel32.func('void *GetCurrentProcess()');
  const GetLastError = kernel32.func('uint32_t GetLastError()');
  const job = CreateJobObjectW(null, null);
  if (!job) throw new Error(`Windows would not create a job object (error ${GetLastError() as number})`);
  const limits = Buffer.alloc(EXTENDED_LIMIT_BYTES);
  limits.writeUInt32LE(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, LIMIT_FLAGS_OFFSET);
  if (!SetInformationJobObject(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, limits, EXTENDED_LIMIT_BYTES)) {
    throw new Error(`Windows would not set the job object's limits (error ${GetLastError() as number})`);
  }
  // The handle is never closed: it closes when this process ends, and that is what ends the tools.
  if (!AssignProcessToJobObject(job, GetCurrentProcess())) {
    throw new Error(`Windows would not put the agent in its job object (error ${GetLastError() as number})`);
  }
}
