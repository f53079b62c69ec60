// Field types reused across messages, with the bounds that keep hostile or broken input small.
import { z } from 'zod';

export const AgentId = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only');
export const DriveId = z.string().min(1).max(256);
export const JobId = z.number().int().nonnegative();
export const TitleId = z.number().int().nonnegative();
export const Label = z.string().max(256);
export const HumanMessage = z.string().max(500);
export const Percent = z.number().min(0).max(100);
export const Bytes = z.number().int().nonnegative();
export const Seconds = z.number().int().nonnegative();
export const Seq = z.number().int().nonnegative();
/** A moment as epoch milliseconds, within what a Date can hold (±8.64e15 ms). */
export const EpochMs = z.number().int().nonnegative().max(8.64e15);
/**
 * The hub's revision: it grows by one with every state change the hub applies. Dashboard events carry it (progress
 * updates repeat the current one), so a client that sees it jump by more than one knows it missed something.
 */
export const Revision = z.number().int().nonnegative();
/** A speed multiple written as people read it: "4.2x". */
export const SpeedMultiple = z.string().max(16).regex(/^\d+(\.\d+)?x$/);
