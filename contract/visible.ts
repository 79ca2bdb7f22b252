// Text a person wrote, shown where a terminal or a log reads it: control and bidirectional characters
// as \u escapes, so none moves the cursor, clears the screen or makes a line read backwards.

/** Control characters (but newline and tab) and the bidirectional overrides and isolates, which can make an answer read backwards. */
// eslint-disable-next-line no-control-regex
export const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every invisible character written as its \u escape. */
export const visible = (s: string): string => s.replace(INVISIBLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
