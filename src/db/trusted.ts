import mongoose from 'mongoose';

/**
 * Marks a query operator object as ours. With `sanitizeFilter` on, mongoose wraps any filter
 * object whose keys start with `$` in `$eq` (so a client value cannot smuggle in an operator);
 * operators the code writes itself must be marked trusted to keep their meaning.
 */
export const op = <T extends object>(operators: T): T => mongoose.trusted(operators) as T;
