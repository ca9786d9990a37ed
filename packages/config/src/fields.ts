// Field builders shared by the shapes: each coerces an environment string into
// a typed value or fails with a message the variable's name is put in front of.
import { z } from 'zod';

export const nonEmpty = z.string().trim().min(1, 'must not be empty');

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const httpUrl = z
  .string()
  .trim()
  .refine((value) => /^https?:\/\/[^\s]+$/.test(value), 'must be an http(s) URL');

/** `true` / `false`, the way the other boolean variables are spelled. */
export const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true');

/**
 * An optional variable. Set to the empty string counts as not set: compose files
 * and Helm charts often write `NAME=` for "no value".
 */
export const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

/** A file path (checked for readability by the cross-field rules, which know what it must hold). */
export const optionalPath = optional(z.string().trim());

/** A secret: kept byte for byte (no trimming: a space may be part of a password). */
export const optionalSecret = optional(z.string());
