import mongoose from 'mongoose';

/**
 * Marks a query operator object as ours. With `sanitizeFilter` on, mongoose wraps any filter
 * object whose keys start with `$` in `$eq` (so a client value cannot smuggle in an operator);
 * operators the code writes itself must be marked trusted to keep their meaning.
 */
export const op = <T extends object>(operators: T): T => mongoose.trusted(operators) as T;

/*
 * FerretDB 1.24 also refuses a projection (`fields`) on findAndModify (code 238, not in
 * DATABASE.md's list), so findOneAndUpdate/findOneAndDelete calls here never pass one.
 */
