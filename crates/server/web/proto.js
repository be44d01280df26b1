// ringport wire protocol v1 (docs/PROTOCOL.md) for the browser, with the
// "created rooms" extension (301–308) and the "history and resume"
// extension (311–318): one WebSocket binary message is exactly one packet,
// 5-byte header included. 64-bit values (uids, epochs, sequence numbers,
// times) are BigInt.
//
// Encoders build the client→server packets and throw a ProtoError for text
// that does not fit (check it first with checkText to show a readable
// message). decode() never throws: it returns { ok: true, packet } or
// { ok: false, id, error } for a malformed packet.

/** Header size: u16 length, u16 id, u8 type (all little-endian). */
export const HEADER_LEN = 5;
/** Largest frame the protocol allows (the C# client reads length as i16). */
export const MAX_FRAME = 32767;
/** Text limits in UTF-8 bytes; the fixed fields are one byte longer (NUL). */
export const USER_ID_MAX = 32;
export const PASSWORD_MAX = 32;
export const MESSAGE_MAX = 256;
/** A 209 packet lists at most this many users; fewer means "end of list". */
export const LIST_MAX_USERS = 127;
/** A room name: 1 to 32 bytes of UTF-8 (extension). */
export const ROOM_NAME_MAX = 32;
/** A 305 packet lists at most this many rooms; fewer means "end of list". */
export const LIST_MAX_ROOMS = 127;
/** A room's capacity is a u16; 0 asks for the server's default. */
export const MAX_USERS_MAX = 0xffff;
/** Hello (311) feature bits. */
export const Feature = Object.freeze({ HISTORY: 1, RESUME: 2 });
/** A history request's after_seq asking for the last `max` messages. */
export const HISTORY_LAST = 0xffffffffffffffffn;
/** A history request returns at most this many messages (0 or more: this). */
export const HISTORY_MAX = 100;
/** A resume token is at most this many bytes. */
export const TOKEN_MAX = 255;

export const Id = Object.freeze({
  DEV_ECHO: 1,
  LOGIN_REQ: 201,
  LOGIN_RES: 202,
  ROOM_ENTER_REQ: 206,
  ROOM_ENTER_RES: 207,
  ROOM_NEW_USER_NTF: 208,
  ROOM_USER_LIST_NTF: 209,
  ROOM_LEAVE_REQ: 215,
  ROOM_LEAVE_RES: 216,
  ROOM_LEAVE_USER_NTF: 217,
  ROOM_CHAT_REQ: 221,
  ROOM_CHAT_RES: 222,
  ROOM_CHAT_NTF: 223,
  ROOM_CREATE_REQ: 301,
  ROOM_CREATE_RES: 302,
  ROOM_LIST_REQ: 303,
  ROOM_LIST_RES: 304,
  ROOM_LIST_NTF: 305,
  ROOM_LIST_CHANGE_NTF: 306,
  ROOM_ENTER_NAME_REQ: 307,
  ROOM_ENTER_NAME_RES: 308,
  HELLO_REQ: 311,
  HELLO_RES: 312,
  ROOM_CHAT_SEQ_NTF: 313,
  ROOM_HISTORY_REQ: 314,
  ROOM_HISTORY_RES: 315,
  RESUME_TOKEN_NTF: 316,
  LOGIN_TOKEN_REQ: 317,
  LOGIN_TOKEN_RES: 318,
});

/** Invalid input to an encoder (a programming or validation error). */
export class ProtoError extends Error {
  constructor(message) {
    super(message);
    this.name = "ProtoError";
  }
}

const encoder = new TextEncoder();
// fatal: invalid UTF-8 is a malformed packet, not replacement characters.
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 length of a string in bytes. */
export function utf8Len(text) {
  return encoder.encode(text).length;
}

/**
 * Why `text` cannot go in a field of at most `max` bytes, as a readable
 * sentence starting with `what` ("User id is empty"), or null if it fits.
 */
export function checkText(text, max, what) {
  if (typeof text !== "string" || text.length === 0) return `${what} is empty`;
  if (text.includes("\0")) return `${what} contains a NUL character`;
  const len = utf8Len(text);
  if (len > max) return `${what} is too long: ${len} bytes of UTF-8, at most ${max} fit`;
  return null;
}

// Control characters (Unicode Cc: C0, DEL, C1), as Rust's char::is_control.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Unicode White_Space, as Rust's char::is_whitespace (JS's \s differs: it
// has U+FEFF and lacks U+0085).
const SPACE = "[\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const EDGE_SPACE = new RegExp(`^${SPACE}|${SPACE}$`);

/**
 * Why `name` is not a valid room name (docs/PROTOCOL.md, "Created rooms":
 * 1 to 32 bytes of UTF-8, no control character, no white space at either
 * end), as a readable sentence, or null if it is one.
 */
export function checkRoomName(name, what = "Room name") {
  if (typeof name !== "string" || name.length === 0) return `${what} is empty`;
  const len = utf8Len(name);
  if (len > ROOM_NAME_MAX) return `${what} is too long: ${len} bytes of UTF-8, at most ${ROOM_NAME_MAX} fit`;
  if (CONTROL.test(name)) return `${what} contains a control character`;
  if (EDGE_SPACE.test(name)) return `${what} starts or ends with white space`;
  return null;
}

// ---- encoding -------------------------------------------------------------

/** A packet of `bodyLen` body bytes with its header written. */
function packet(id, bodyLen) {
  const total = HEADER_LEN + bodyLen;
  if (total > MAX_FRAME) throw new ProtoError(`packet of ${total} bytes exceeds ${MAX_FRAME}`);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, total, true);
  view.setUint16(2, id, true);
  // bytes[4], the type byte, stays 0.
  return { bytes, view };
}

/** Writes `text` NUL-padded into the fixed field at `offset` (max + 1 bytes). */
function putField(bytes, offset, text, max, what) {
  const problem = checkText(text, max, what);
  if (problem) throw new ProtoError(problem);
  bytes.set(encoder.encode(text), offset); // the rest is already zero
}

/** 201 LOGIN_REQ, 71 bytes: UserID[33] @5, UserPW[33] @38. */
export function encodeLogin(userId, password) {
  const { bytes } = packet(Id.LOGIN_REQ, 66);
  putField(bytes, 5, userId, USER_ID_MAX, "User id");
  putField(bytes, 38, password, PASSWORD_MAX, "Password");
  return bytes;
}

/** 206 ROOM_ENTER_REQ, 9 bytes: i32 room_number @5. */
export function encodeEnter(roomNumber) {
  if (!Number.isInteger(roomNumber) || roomNumber < -0x80000000 || roomNumber > 0x7fffffff) {
    throw new ProtoError(`room number ${roomNumber} is not a 32-bit integer`);
  }
  const { bytes, view } = packet(Id.ROOM_ENTER_REQ, 4);
  view.setInt32(5, roomNumber, true);
  return bytes;
}

/** 215 ROOM_LEAVE_REQ, 5 bytes: no body. */
export function encodeLeave() {
  return packet(Id.ROOM_LEAVE_REQ, 0).bytes;
}

/** 221 ROOM_CHAT_REQ, 262 bytes: Message[257] @5. */
export function encodeChat(message) {
  const { bytes } = packet(Id.ROOM_CHAT_REQ, 257);
  putField(bytes, 5, message, MESSAGE_MAX, "Message");
  return bytes;
}

/** Writes `raw` (a valid room name, a token) length-prefixed (u8 len) at `offset`. */
function putName(bytes, offset, raw) {
  bytes[offset] = raw.length;
  bytes.set(raw, offset + 1);
}

function roomNameBytes(name) {
  const problem = checkRoomName(name);
  if (problem) throw new ProtoError(problem);
  return encoder.encode(name);
}

/**
 * 301 ROOM_CREATE_REQ, 8 + n bytes: u16 max_users @5 (0: the server's
 * default), u8 name_len @7, the name.
 */
export function encodeCreateRoom(name, maxUsers = 0) {
  if (!Number.isInteger(maxUsers) || maxUsers < 0 || maxUsers > MAX_USERS_MAX) {
    throw new ProtoError(`capacity ${maxUsers} is not a whole number from 0 to ${MAX_USERS_MAX}`);
  }
  const raw = roomNameBytes(name);
  const { bytes, view } = packet(Id.ROOM_CREATE_REQ, 3 + raw.length);
  view.setUint16(5, maxUsers, true);
  putName(bytes, 7, raw);
  return bytes;
}

/** 303 ROOM_LIST_REQ, 6 bytes: u8 watch @5 (true/1: list and watch; false/0: list, stop watching). */
export function encodeListRooms(watch) {
  if (watch !== true && watch !== false && watch !== 0 && watch !== 1) {
    throw new ProtoError(`watch must be true or false, not ${watch}`);
  }
  const { bytes } = packet(Id.ROOM_LIST_REQ, 1);
  bytes[5] = watch ? 1 : 0;
  return bytes;
}

/** 307 ROOM_ENTER_NAME_REQ, 6 + n bytes: u8 name_len @5, the name. */
export function encodeEnterByName(name) {
  const raw = roomNameBytes(name);
  const { bytes } = packet(Id.ROOM_ENTER_NAME_REQ, 1 + raw.length);
  putName(bytes, 5, raw);
  return bytes;
}

/** 311 HELLO_REQ, 9 bytes: u32 features @5 (Feature bits; 0 opts out). */
export function encodeHello(features) {
  if (!Number.isInteger(features) || features < 0 || features > 0xffffffff) {
    throw new ProtoError(`features ${features} is not a 32-bit unsigned integer`);
  }
  const { bytes, view } = packet(Id.HELLO_REQ, 4);
  view.setUint32(5, features, true);
  return bytes;
}

/** A u64 given as a BigInt or a non-negative safe integer, as a BigInt. */
function u64(value, what) {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n && value <= HISTORY_LAST) return value;
  throw new ProtoError(`${what} ${value} is not a 64-bit unsigned integer`);
}

/**
 * 314 ROOM_HISTORY_REQ, 23 bytes: u64 epoch @5, u64 after_seq @13, u16 max
 * @21. `afterSeq` HISTORY_LAST asks for the last `max` messages (epoch
 * then does not matter); `max` 0 or above 100 counts as 100.
 */
export function encodeHistory(epoch, afterSeq, max = HISTORY_MAX) {
  const e = u64(epoch, "epoch");
  const after = u64(afterSeq, "after_seq");
  if (!Number.isInteger(max) || max < 0 || max > 0xffff) {
    throw new ProtoError(`max ${max} is not a whole number from 0 to 65535`);
  }
  const { bytes, view } = packet(Id.ROOM_HISTORY_REQ, 18);
  view.setBigUint64(5, e, true);
  view.setBigUint64(13, after, true);
  view.setUint16(21, max, true);
  return bytes;
}

/** 317 LOGIN_TOKEN_REQ, 6 + n bytes: u8 len @5, the token (a Uint8Array of 0..=255 bytes, opaque). */
export function encodeLoginToken(token) {
  if (!(token instanceof Uint8Array)) throw new ProtoError("token must be a Uint8Array");
  if (token.length > TOKEN_MAX) throw new ProtoError(`token of ${token.length} bytes, at most ${TOKEN_MAX}`);
  const { bytes } = packet(Id.LOGIN_TOKEN_REQ, 1 + token.length);
  putName(bytes, 5, token);
  return bytes;
}

/** 1 DEV_ECHO: any body (Uint8Array, or a string sent as UTF-8), may be empty. */
export function encodeEcho(body = new Uint8Array(0)) {
  const raw = typeof body === "string" ? encoder.encode(body) : Uint8Array.from(body);
  const { bytes } = packet(Id.DEV_ECHO, raw.length);
  bytes.set(raw, HEADER_LEN);
  return bytes;
}

// ---- decoding -------------------------------------------------------------

/** Thrown inside decode() only, turned into { ok: false }. */
class Malformed extends Error {}

/** Bounds-checked little-endian reader over a packet body. */
class Reader {
  constructor(bytes, offset) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = offset;
  }
  left() {
    return this.bytes.length - this.pos;
  }
  take(n) {
    if (this.left() < n) throw new Malformed("body is truncated");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8() {
    return this.take(1)[0];
  }
  u16() {
    const at = this.pos;
    this.take(2);
    return this.view.getUint16(at, true);
  }
  i32() {
    const at = this.pos;
    this.take(4);
    return this.view.getInt32(at, true);
  }
  u32() {
    const at = this.pos;
    this.take(4);
    return this.view.getUint32(at, true);
  }
  i64() {
    const at = this.pos;
    this.take(8);
    return this.view.getBigInt64(at, true);
  }
  u64() {
    const at = this.pos;
    this.take(8);
    return this.view.getBigUint64(at, true);
  }
  /** A fixed NUL-terminated field: the text before the first NUL. */
  field(size, what) {
    const raw = this.take(size);
    const nul = raw.indexOf(0);
    if (nul < 0) throw new Malformed(`${what} has no terminating NUL`);
    if (nul === 0) throw new Malformed(`${what} is empty`);
    return text(raw.subarray(0, nul), what);
  }
  /** A length-prefixed user id (208/209): u8 id_len, then the bytes. */
  userId() {
    const len = this.u8();
    if (len > USER_ID_MAX) throw new Malformed(`user id of ${len} bytes, at most ${USER_ID_MAX}`);
    if (len === 0) throw new Malformed("user id is empty");
    const raw = this.take(len);
    if (raw.includes(0)) throw new Malformed("user id contains a NUL byte");
    return text(raw, "user id");
  }
  /**
   * A room entry (305/306): i32 number, u16 users, u16 max_users, u8 flags
   * (bit 0 created, bit 1 closed, others ignored), u8 name_len, the name
   * (name_len 0: no name, null).
   */
  room() {
    const number = this.i32();
    const users = this.u16();
    const maxUsers = this.u16();
    const flags = this.u8();
    const len = this.u8();
    let name = null;
    if (len > 0) {
      if (len > ROOM_NAME_MAX) throw new Malformed(`room name of ${len} bytes, at most ${ROOM_NAME_MAX}`);
      name = text(this.take(len), "room name");
      const problem = checkRoomName(name);
      if (problem) throw new Malformed(problem);
    }
    return { number, users, maxUsers, created: (flags & 1) !== 0, closed: (flags & 2) !== 0, name };
  }
  /** Ends a body: nothing may be left. */
  finish() {
    if (this.left() !== 0) throw new Malformed(`${this.left()} unexpected trailing bytes`);
  }
}

function text(raw, what) {
  try {
    return utf8.decode(raw);
  } catch {
    throw new Malformed(`${what} is not valid UTF-8`);
  }
}

/** A fixed-size body: checks the size, returns a reader over it. */
function fixed(bytes, bodyLen) {
  const len = bytes.length - HEADER_LEN;
  if (len !== bodyLen) throw new Malformed(`body is ${len} bytes, expected ${bodyLen}`);
  return new Reader(bytes, HEADER_LEN);
}

/** Response packets carrying a u16 result, by id → kind. */
const RESULT_KINDS = {
  [Id.LOGIN_RES]: "loginRes",
  [Id.ROOM_ENTER_RES]: "enterRes",
  [Id.ROOM_LEAVE_RES]: "leaveRes",
  [Id.ROOM_CHAT_RES]: "chatRes",
  [Id.ROOM_LIST_RES]: "listRes",
  [Id.LOGIN_TOKEN_RES]: "loginTokenRes",
};

/** Responses carrying a u16 result and an i32 room number, by id → kind. */
const NUMBERED_RESULT_KINDS = {
  [Id.ROOM_CREATE_RES]: "createRes",
  [Id.ROOM_ENTER_NAME_RES]: "enterNameRes",
};

/**
 * Decodes one server→client packet (an ArrayBuffer or Uint8Array holding
 * exactly one frame). Returns { ok: true, packet } where packet is one of
 *   { id: 1,   kind: "echo",     body: Uint8Array }
 *   { id: 202|207|216|222|304|318, kind: "loginRes"|"enterRes"|"leaveRes"|"chatRes"|"listRes"|"loginTokenRes", result }
 *   { id: 302|308, kind: "createRes"|"enterNameRes", result, room }  (room 0 unless result is 0)
 *   { id: 208, kind: "newUser",  user: { uid: BigInt, userId } }
 *   { id: 209, kind: "userList", users: [{ uid, userId }], last: boolean }
 *   { id: 217, kind: "userLeft", uid: BigInt }
 *   { id: 223, kind: "chat",     userId, message }
 *   { id: 305, kind: "roomList", rooms: [room], last: boolean }
 *   { id: 306, kind: "roomChange", room }
 *   { id: 312, kind: "helloRes", result, features }  (features: the Feature bits granted)
 *   { id: 313, kind: "chatSeq", room, epoch: BigInt, seq: BigInt, timeMs: BigInt, userId, message }
 *   { id: 315, kind: "historyRes", result, room, epoch: BigInt, lastSeq: BigInt, lost, more, count }
 *   { id: 316, kind: "resumeToken", ttlSecs, token: Uint8Array }
 * where room is { number, users, maxUsers, created, closed, name (null: a fixed room) }
 *   { id,      kind: "unknown",  body: Uint8Array }   (ignore it)
 * or { ok: false, id, error } (id null when the header itself is unusable).
 * A result code the protocol does not define is kept as its number.
 */
export function decode(frame) {
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  if (bytes.length < HEADER_LEN) {
    return { ok: false, id: null, error: `frame of ${bytes.length} bytes is shorter than a header` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint16(0, true);
  const id = view.getUint16(2, true);
  if (len !== bytes.length) {
    return { ok: false, id, error: `header says ${len} bytes, frame has ${bytes.length}` };
  }
  try {
    return { ok: true, packet: decodeBody(id, bytes) };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, id, error: e.message };
    throw e; // a bug in this file, not bad input
  }
}

function decodeBody(id, bytes) {
  if (id in RESULT_KINDS) {
    const r = fixed(bytes, 2);
    return { id, kind: RESULT_KINDS[id], result: r.u16() };
  }
  if (id in NUMBERED_RESULT_KINDS) {
    const r = fixed(bytes, 6);
    return { id, kind: NUMBERED_RESULT_KINDS[id], result: r.u16(), room: r.i32() };
  }
  switch (id) {
    case Id.DEV_ECHO:
      return { id, kind: "echo", body: bytes.slice(HEADER_LEN) };
    case Id.ROOM_NEW_USER_NTF: {
      const r = new Reader(bytes, HEADER_LEN);
      const user = { uid: r.i64(), userId: r.userId() };
      r.finish();
      return { id, kind: "newUser", user };
    }
    case Id.ROOM_USER_LIST_NTF: {
      const r = new Reader(bytes, HEADER_LEN);
      const count = r.u8();
      if (count > LIST_MAX_USERS) throw new Malformed(`list of ${count} users, at most ${LIST_MAX_USERS}`);
      const users = [];
      for (let i = 0; i < count; i++) users.push({ uid: r.i64(), userId: r.userId() });
      r.finish();
      return { id, kind: "userList", users, last: count < LIST_MAX_USERS };
    }
    case Id.ROOM_LEAVE_USER_NTF: {
      const r = fixed(bytes, 8);
      return { id, kind: "userLeft", uid: r.i64() };
    }
    case Id.ROOM_CHAT_NTF: {
      const r = fixed(bytes, 33 + 257);
      const userId = r.field(33, "user id");
      const message = r.field(257, "message");
      return { id, kind: "chat", userId, message };
    }
    case Id.ROOM_LIST_NTF: {
      const r = new Reader(bytes, HEADER_LEN);
      const count = r.u8();
      if (count > LIST_MAX_ROOMS) throw new Malformed(`list of ${count} rooms, at most ${LIST_MAX_ROOMS}`);
      const rooms = [];
      for (let i = 0; i < count; i++) rooms.push(r.room());
      r.finish();
      return { id, kind: "roomList", rooms, last: count < LIST_MAX_ROOMS };
    }
    case Id.ROOM_LIST_CHANGE_NTF: {
      const r = new Reader(bytes, HEADER_LEN);
      const room = r.room();
      r.finish();
      return { id, kind: "roomChange", room };
    }
    case Id.HELLO_RES: {
      const r = fixed(bytes, 6);
      return { id, kind: "helloRes", result: r.u16(), features: r.u32() };
    }
    case Id.ROOM_CHAT_SEQ_NTF: {
      const r = fixed(bytes, 4 + 8 + 8 + 8 + 33 + 257);
      const room = r.i32();
      const epoch = r.u64();
      const seq = r.u64();
      const timeMs = r.i64();
      const userId = r.field(33, "user id");
      const message = r.field(257, "message");
      return { id, kind: "chatSeq", room, epoch, seq, timeMs, userId, message };
    }
    case Id.ROOM_HISTORY_RES: {
      const r = fixed(bytes, 2 + 4 + 8 + 8 + 1 + 2);
      const result = r.u16();
      const room = r.i32();
      const epoch = r.u64();
      const lastSeq = r.u64();
      const flags = r.u8(); // bit 0 lost, bit 1 more, others ignored
      const count = r.u16();
      return { id, kind: "historyRes", result, room, epoch, lastSeq, lost: (flags & 1) !== 0, more: (flags & 2) !== 0, count };
    }
    case Id.RESUME_TOKEN_NTF: {
      const r = new Reader(bytes, HEADER_LEN);
      const ttlSecs = r.u32();
      const token = r.take(r.u8()).slice();
      r.finish();
      return { id, kind: "resumeToken", ttlSecs, token };
    }
    default:
      return { id, kind: "unknown", body: bytes.slice(HEADER_LEN) };
  }
}

// ---- result codes ---------------------------------------------------------

/** Protocol names of the result codes (docs/PROTOCOL.md, "Result codes"). */
export const RESULT_NAMES = Object.freeze({
  0: "NONE",
  31: "LOGIN_USER_ALREADY",
  32: "LOGIN_USER_USED_ALL_OBJ",
  33: "LOGIN_USER_INVALID_PW",
  34: "LOGIN_BACKEND_UNAVAILABLE",
  52: "ENTER_ROOM_INVALID_USER_STATUS",
  54: "ENTER_ROOM_FULL_USER",
  61: "ROOM_INVALID_INDEX",
  63: "ROOM_TOO_MANY_PACKET",
  81: "CHAT_ROOM_INVALID_ROOM_NUMBER",
  90: "INVALID_PACKET",
  100: "ROOM_NAME_INVALID",
  101: "ROOM_NAME_TAKEN",
  102: "ROOM_NAME_UNKNOWN",
  103: "ROOM_CAPACITY_INVALID",
  104: "ROOM_CREATE_LIMIT_USER",
  105: "ROOM_CREATE_LIMIT_SERVER",
  106: "ROOM_SERVICE_UNAVAILABLE",
  110: "FEATURE_NOT_ENABLED",
  111: "TOKEN_INVALID",
  112: "TOKEN_EXPIRED",
  113: "TOKEN_REVOKED",
});

// What a failed request was, and what each code means for it.
const FAILURES = {
  loginRes: {
    title: "Login failed",
    31: "this user id is already logged in (here or in another session)",
    32: "the server is full (maximum of logged-in users)",
    33: "wrong password, or unknown user id",
    34: "the account store is unavailable or busy, try again later",
    63: "too many login attempts from your address, wait a moment",
  },
  enterRes: {
    title: "Cannot enter the room",
    52: "not logged in, or already in a room",
    54: "the room is full",
    61: "no room with this number",
  },
  leaveRes: {
    title: "Cannot leave",
    61: "you are not in a room",
  },
  chatRes: {
    title: "Message not sent",
    63: "too many messages, slow down",
    81: "you are not in a room",
  },
  createRes: {
    title: "Cannot create the room",
    52: "not logged in",
    63: "too many rooms created in a short time, wait a moment",
    100: "the name is not allowed (1 to 32 bytes, no control characters, no spaces at either end)",
    101: "a room with this name is already open",
    103: "the capacity is above the server's limit",
    104: "you have as many rooms open as you may",
    105: "the server holds as many rooms as it may",
    106: "the room service is unavailable, try again later",
  },
  listRes: {
    title: "Cannot list the rooms",
    52: "not logged in",
    63: "too many requests, wait a moment",
  },
  helloRes: {
    title: "Hello refused",
  },
  historyRes: {
    title: "Cannot fetch the missed messages",
    63: "too many requests, wait a moment",
    81: "you are not in a room",
    110: "the server keeps no history for this session",
  },
  loginTokenRes: {
    title: "Could not resume the session",
    31: "this user id is already logged in (here or in another session)",
    32: "the server is full (maximum of logged-in users)",
    34: "the account store is unavailable or busy, try again later",
    110: "the server does not resume sessions",
    111: "the saved session is not valid",
    112: "the saved session has expired",
    113: "the saved session was revoked (password changed or user deleted)",
  },
  enterNameRes: {
    title: "Cannot enter the room",
    52: "not logged in, or already in a room",
    54: "the room is full",
    100: "the name is not allowed",
    102: "no open room has this name",
    106: "the room service is unavailable, try again later",
  },
};

// Meanings that hold for any response.
const GENERIC = {
  90: "the server found the request invalid",
  31: "already logged in",
  32: "server full",
  33: "wrong password",
  34: "account store unavailable",
  52: "wrong state for this request",
  54: "room full",
  61: "no such room, or not in a room",
  63: "too many requests",
  81: "not in a room",
  100: "invalid room name",
  101: "room name taken",
  102: "no room with this name",
  103: "room capacity too large",
  104: "too many rooms of yours open",
  105: "too many rooms on the server",
  106: "room service unavailable",
  110: "feature not enabled",
  111: "invalid token",
  112: "expired token",
  113: "revoked token",
};

/**
 * A readable sentence for a failed response: "Login failed: wrong password
 * (33)". `kind` is the decoded packet's kind ("loginRes", …). For code 0 it
 * returns null: the caller says what succeeded.
 */
export function resultText(kind, code) {
  if (code === 0) return null;
  const table = FAILURES[kind] || { title: "Request failed" };
  const reason = table[code] || GENERIC[code] || `unknown result code`;
  return `${table.title}: ${reason} (${code})`;
}
