// Sign-in for the dashboard: a one-time token (printed at start, exchanged once at /login?token=… for a
// session cookie) signs the operator in as a configured person. A session is a random ID in an HttpOnly,
// SameSite=Strict cookie, and carries its own CSRF token, which every form posts back. Tokens and
// session IDs are kept only as SHA-256 hashes, so a memory dump or a log line never holds one usable.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { validatePerson } from '../../config/resolve';

export const COOKIE = 'quad_session';
/** A session lasts a working day; a token left unused for an hour is dropped. */
const SESSION_MS = 12 * 60 * 60 * 1000;
const TOKEN_MS = 60 * 60 * 1000;
/** Bounds, so no one can grow the maps without limit by asking for tokens or signing in in a loop. */
const MAX_TOKENS = 100;
const MAX_SESSIONS = 1000;

export interface Session {
  person: string;
  csrf: string;
  expiresAt: number;
  /** what the last action answered, shown once on the page it redirected to */
  flash?: { ok: boolean; message: string } | null;
}

const hash = (s: string) => createHash('sha256').update(s).digest('base64url');
const random = () => randomBytes(32).toString('base64url');

export class Sessions {
  private readonly tokens = new Map<string, { person: string; expiresAt: number }>();
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A one-time sign-in token for `person` (a user name or ID as config names people). */
  issueToken(person: string): string {
    validatePerson(person, 'the dashboard user');
    this.sweep();
    if (this.tokens.size >= MAX_TOKENS) throw new Error('too many unused sign-in tokens; restart the dashboard');
    const token = random();
    this.tokens.set(hash(token), { person, expiresAt: this.now() + TOKEN_MS });
    return token;
  }

  /** The token → a new session (the token is gone after this, used or not); null when it is not one. */
  exchange(token: string): { id: string; session: Session } | null {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
    const key = hash(token);
    const t = this.tokens.get(key);
    this.tokens.delete(key);
    if (!t || t.expiresAt < this.now()) return null;
    return this.open(t.person);
  }

  /** A new session for a person some sign-in vouched for (the token, or an OIDC provider). */
  open(person: string): { id: string; session: Session } {
    validatePerson(person, 'the signed-in person');
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = random();
    const session: Session = { person, csrf: random(), expiresAt: this.now() + SESSION_MS };
    this.sessions.set(hash(id), session);
    return { id, session };
  }

  /** The session a request's Cookie header names, if it is live. */
  fromCookie(header: string | undefined): Session | null {
    const id = cookieValue(header, COOKIE);
    if (!id || !/^[A-Za-z0-9_-]{20,100}$/.test(id)) return null;
    const s = this.sessions.get(hash(id));
    if (!s) return null;
    if (s.expiresAt < this.now()) {
      this.sessions.delete(hash(id));
      return null;
    }
    return s;
  }

  end(header: string | undefined): void {
    const id = cookieValue(header, COOKIE);
    if (id) this.sessions.delete(hash(id));
  }

  private sweep() {
    const now = this.now();
    for (const [k, t] of this.tokens) if (t.expiresAt < now) this.tokens.delete(k);
    for (const [k, s] of this.sessions) if (s.expiresAt < now) this.sessions.delete(k);
  }
}

/** The CSRF token a form posted, checked against the session's in constant time. */
export function csrfMatches(session: Session, posted: string | undefined): boolean {
  if (typeof posted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(posted);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sessionCookie(id: string, secure: boolean): string {
  return `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}${secure ? '; Secure' : ''}`;
}

export const clearedCookie = `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
