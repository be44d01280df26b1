// ringport web client: one WebSocket at /ws on this origin, one binary
// message per packet (see proto.js). No framework: a little state, a few
// DOM helpers, one handler per packet kind.
//
// After login the page watches the room list (303 with watch 1) and shows
// it as the lobby while not in a room: 305s build it, 306s keep it current.
// A click on a room enters it by number (206), created rooms included: the
// number is what the list gives and names one room exactly.
//
// History and resume: every connection says hello (HISTORY | RESUME). The
// resume token of each login is kept in sessionStorage (this tab only,
// cleared by "Log out"); a closed connection is opened again by itself
// (backoff with jitter), logs in with the token (or shows the login form
// if the server refuses it), enters the room again and asks for the
// messages after the last one shown (per room: epoch and sequence number),
// so each message is shown once, in order, with a gap line when the server
// no longer has some of them.
import * as proto from "/proto.js";

// The only global: the codec, for tests and the curious.
window.ringport = Object.freeze({ proto });

const $ = (id) => document.getElementById(id);
const ui = {
  body: document.body,
  connState: $("conn-state"),
  connDetail: $("conn-detail"),
  sessionInfo: $("session-info"),
  reconnect: $("reconnect"),
  connRetry: $("conn-retry"),
  logout: $("logout"),
  loginForm: $("login-form"),
  user: $("user"),
  password: $("password"),
  login: $("login"),
  roomForm: $("room-form"),
  room: $("room"),
  enter: $("enter"),
  leave: $("leave"),
  roomState: $("room-state"),
  status: $("status"),
  members: $("members"),
  memberCount: $("member-count"),
  log: $("log"),
  chatForm: $("chat-form"),
  message: $("message"),
  messageBytes: $("message-bytes"),
  send: $("send"),
  lobby: $("lobby"),
  rooms: $("rooms"),
  roomCount: $("room-count"),
  createForm: $("create-form"),
  roomName: $("room-name"),
  roomCapacity: $("room-capacity"),
  create: $("create"),
  createError: $("create-error"),
};

const MAX_LOG_LINES = 1000;
/** Reconnect delays: 0.5 s doubling up to 30 s, each ±50 % at random. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30000;
/** A connection open this long counts as good: the next delay starts over. */
const RETRY_RESET_MS = 10000;
/** A token refused for now (31, 32, 34) is tried again: 1 s doubling up to 30 s, ±50 %. */
const TOKEN_RETRY_FIRST_MS = 1000;
/** Messages asked for on entering a room with no known position. */
const RECENT_MESSAGES = 20;
/** sessionStorage key of the saved session: { user, token (hex), expires (ms), room }. */
const SAVED_KEY = "ringport.session";

const state = {
  ws: null,
  conn: "closed", // connecting | open | closed
  user: null, // logged-in user id, or null
  room: null, // current room number, or null
  // Requests waiting for their response, oldest first (answers come in order).
  pendingLogins: [],
  pendingRooms: [],
  members: new Map(), // uid (string) → user id
  listComplete: true, // false while a 209 list is still arriving
  pendingCreates: [], // names of the 301s sent
  pendingLists: 0, // 303s sent, not yet answered
  rooms: new Map(), // room number → { number, users, maxUsers, created, name }
  roomsComplete: true, // false while a 305 list is still arriving
  features: 0, // granted by the server's 312
  pendingToken: null, // the user id of a 317 sent, not yet answered
  // Kept across connections (cleared by logging out or in as another id):
  lastUser: null, // whose positions and room these are
  resumeRoom: null, // the room to enter again after the next login
  positions: new Map(), // room number → { epoch, lastSeq } (BigInt) of the last message shown
  // A history request under way: 313s before its 315 are live ones, kept
  // in `buffer` until the history is shown; the `remaining` after it are
  // the history.
  hist: null, // { room, phase: "waiting" | "receiving", known, epoch, lastSeq, remaining, more, buffer }
  retry: { attempt: 0, timer: null, tick: null, at: 0 },
  // The saved token refused for now (the old session not gone yet, the
  // server full or its accounts busy): tried again on this connection.
  tokenRetry: { attempt: 0, timer: null },
  openedAt: 0,
};

// ---- connection -----------------------------------------------------------

function connect() {
  cancelRetry();
  cancelTokenRetry();
  if (state.ws) {
    const old = state.ws;
    state.ws = null; // its close event is ignored
    old.close();
  }
  resetSession();
  setConn("connecting");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let ws;
  try {
    ws = new WebSocket(`${scheme}//${location.host}/ws`);
  } catch (e) {
    setConn("closed", null, `cannot open a WebSocket from this page (${e.message})`);
    return;
  }
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  state.openedAt = 0;
  ws.onopen = () => {
    if (ws !== state.ws) return;
    state.openedAt = Date.now();
    setConn("open");
    sendPacket(proto.encodeHello(proto.Feature.HISTORY | proto.Feature.RESUME));
    resumeWithToken();
    render();
  };
  ws.onmessage = (event) => {
    if (ws !== state.ws) return;
    if (typeof event.data === "string") {
      systemLine("Ignored a text message from the server (packets are binary)");
      return;
    }
    onPacket(proto.decode(event.data));
  };
  ws.onclose = (event) => {
    if (ws !== state.ws) return;
    state.ws = null;
    // Back in the same room (or the lobby) after the next login.
    if (state.user !== null) state.resumeRoom = state.room ?? state.pendingRooms[0] ?? null;
    if (state.openedAt > 0 && Date.now() - state.openedAt >= RETRY_RESET_MS) state.retry.attempt = 0;
    resetSession();
    setConn("closed", event.code, event.reason);
    scheduleReconnect();
  };
}

/** Logs in with the saved token, if there is one still valid. */
function resumeWithToken() {
  let saved = loadSaved();
  if (saved !== null && saved.expires <= Date.now()) {
    forgetSaved();
    saved = null;
  }
  if (saved === null) {
    // No token (the server gave none, or it was refused): the password.
    if (state.lastUser !== null) {
      ui.user.value = state.lastUser;
      setStatus(`Connection restored: log in again as ${state.lastUser}`, null);
    }
    return;
  }
  if (state.lastUser === null) {
    state.lastUser = saved.user; // a fresh page: the saved room is the one to enter
    state.resumeRoom = saved.room;
  }
  if (sendPacket(proto.encodeLoginToken(fromHex(saved.token)))) {
    state.pendingToken = saved.user;
    ui.user.value = saved.user;
    setStatus(`Resuming the session of ${saved.user}…`, null);
  }
}

/** Sends the saved token again after a delay (see TOKEN_RETRY_FIRST_MS), on this connection, unless a login happened meanwhile. */
function retryToken(why, code) {
  clearTimeout(state.tokenRetry.timer);
  const base = Math.min(RETRY_MAX_MS, TOKEN_RETRY_FIRST_MS * 2 ** Math.min(state.tokenRetry.attempt, 16));
  const delay = Math.round(base * (0.5 + Math.random()));
  state.tokenRetry.attempt += 1;
  const ws = state.ws;
  state.tokenRetry.timer = setTimeout(() => {
    state.tokenRetry.timer = null;
    const idle = state.user === null && state.pendingToken === null && state.pendingLogins.length === 0;
    if (ws === state.ws && state.conn === "open" && idle) {
      resumeWithToken();
      render();
    }
  }, delay);
  const seconds = Math.max(1, Math.round(delay / 1000));
  setStatus(`${why}: trying again in ${seconds} s, or log in with your password`, false, code);
}

function cancelTokenRetry() {
  clearTimeout(state.tokenRetry.timer);
  state.tokenRetry.timer = null;
}

/** Opens the connection again after a delay: 0.5 s doubling to 30 s, ±50 %. */
function scheduleReconnect() {
  cancelRetry();
  const base = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(state.retry.attempt, 16));
  const delay = Math.round(base * (0.5 + Math.random()));
  state.retry.attempt += 1;
  state.retry.at = Date.now() + delay;
  state.retry.timer = setTimeout(connect, delay);
  state.retry.tick = setInterval(renderRetry, 250);
  renderRetry();
}

function cancelRetry() {
  clearTimeout(state.retry.timer);
  clearInterval(state.retry.tick);
  state.retry.timer = state.retry.tick = null;
  renderRetry();
}

function renderRetry() {
  const waiting = state.retry.timer !== null;
  ui.connRetry.hidden = !waiting;
  if (!waiting) {
    ui.connRetry.textContent = "";
    delete ui.connRetry.dataset.attempt;
    return;
  }
  const seconds = Math.max(1, Math.ceil((state.retry.at - Date.now()) / 1000));
  ui.connRetry.textContent = `reconnecting in ${seconds} s…`;
  ui.connRetry.dataset.attempt = String(state.retry.attempt);
}

// ---- the saved session (sessionStorage) -------------------------------------

/** The saved session, or null: { user, token (hex), expires (ms since 1970), room (or null) }. */
function loadSaved() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SAVED_KEY));
    if (saved && typeof saved.user === "string" && typeof saved.token === "string") {
      return { user: saved.user, token: saved.token, expires: Number(saved.expires) || 0, room: Number.isInteger(saved.room) ? saved.room : null };
    }
  } catch {
    // No storage (disabled), or not ours: nothing saved.
  }
  return null;
}

function storeSaved(saved) {
  try {
    sessionStorage.setItem(SAVED_KEY, JSON.stringify(saved));
  } catch {
    // Storage disabled or full: this tab will ask for the password again.
  }
}

/** Updates the saved session's room, if a session of this user is saved. */
function saveRoom(room) {
  const saved = loadSaved();
  if (saved !== null && saved.user === state.user) storeSaved({ ...saved, room });
}

function forgetSaved() {
  try {
    sessionStorage.removeItem(SAVED_KEY);
  } catch {
    // nothing saved then
  }
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (hex) => new Uint8Array((hex.match(/../g) || []).map((h) => parseInt(h, 16)));

function setConn(conn, code = null, reason = "") {
  state.conn = conn;
  ui.connState.textContent = conn;
  ui.connState.dataset.state = conn;
  ui.body.dataset.conn = conn;
  if (code !== null) ui.connState.dataset.code = String(code);
  else delete ui.connState.dataset.code;
  const detail = [code !== null ? `code ${code}` : "", reason].filter(Boolean).join(": ");
  ui.connDetail.textContent = detail ? `(${detail})` : "";
  ui.reconnect.hidden = conn !== "closed";
  renderRetry();
  render();
}

function sendPacket(bytes) {
  if (!state.ws || state.conn !== "open") {
    setStatus("Not connected: wait for the connection, or press Reconnect", false);
    return false;
  }
  state.ws.send(bytes);
  return true;
}

function resetSession() {
  state.user = null;
  state.room = null;
  state.pendingLogins = [];
  state.pendingRooms = [];
  state.members.clear();
  state.listComplete = true;
  state.pendingCreates = [];
  state.pendingLists = 0;
  state.rooms.clear();
  state.roomsComplete = true;
  state.features = 0;
  state.pendingToken = null;
  state.hist = null;
  showCreateError(null);
  renderMembers();
  renderRooms();
}

// ---- packets from the server ----------------------------------------------

function onPacket(decoded) {
  if (!decoded.ok) {
    console.warn("ringport: malformed packet", decoded);
    systemLine(`Ignored a malformed packet (id ${decoded.id ?? "?"}): ${decoded.error}`);
    return;
  }
  const p = decoded.packet;
  switch (p.kind) {
    case "loginRes": {
      const user = state.pendingLogins.shift() ?? null;
      if (p.result === 0 && user !== null) {
        const saved = loadSaved();
        if (saved !== null && saved.user !== user) forgetSaved();
        loggedIn(user, `Logged in as ${user}`);
      } else {
        failed(p);
      }
      break;
    }
    case "loginTokenRes": {
      const user = state.pendingToken;
      state.pendingToken = null;
      if (p.result === 0 && user !== null) {
        loggedIn(user, `Logged in as ${user} (session resumed)`);
      } else {
        // Refused. A token that cannot work again is dropped: the password
        // it is. One refused for now (31: the old session is not gone yet;
        // 32, 34) is tried again after a while; the password form stays
        // open meanwhile.
        const forNow = [31, 32, 34].includes(p.result);
        if (!forNow) forgetSaved();
        const why = proto.resultText(p.kind, p.result) ?? `Unexpected answer (${p.id}, result 0)`;
        if (forNow && loadSaved() !== null) {
          retryToken(why, p.result);
        } else {
          setStatus(`${why}: log in with your password`, false, p.result);
        }
      }
      break;
    }
    case "helloRes":
      state.features = p.result === 0 ? p.features : 0;
      break;
    case "resumeToken":
      if (state.user !== null && p.token.length > 0) {
        const room = state.room ?? state.pendingRooms[0] ?? null;
        storeSaved({ user: state.user, token: toHex(p.token), expires: Date.now() + p.ttlSecs * 1000, room });
      }
      break;
    case "enterRes": {
      const room = state.pendingRooms.shift() ?? null;
      if (p.result === 0 && room !== null) {
        state.room = room;
        state.members.clear();
        state.listComplete = false; // a 209 list follows
        showCreateError(null);
        setStatus(`Entered ${roomLabel(room)}`, true, 0);
        systemLine(`You entered ${roomLabel(room)}`);
        renderMembers();
        saveRoom(room);
        requestHistory(room);
      } else {
        failed(p);
        if (room !== null && loadSaved()?.room === room) saveRoom(null);
      }
      break;
    }
    case "userList":
      for (const u of p.users) state.members.set(u.uid.toString(), u.userId);
      if (p.last) state.listComplete = true;
      renderMembers();
      break;
    case "newUser":
      state.members.set(p.user.uid.toString(), p.user.userId);
      systemLine(`${p.user.userId} joined`);
      renderMembers();
      break;
    case "userLeft": {
      const key = p.uid.toString();
      const name = state.members.get(key);
      state.members.delete(key);
      if (name !== undefined) systemLine(`${name} left`);
      renderMembers();
      break;
    }
    case "leaveRes":
      if (p.result === 0) {
        systemLine(`You left ${roomLabel(state.room)}`);
        setStatus(`Left ${roomLabel(state.room)}`, true, 0);
        // Coming back later shows the recent messages, not all since.
        state.positions.delete(state.room);
        state.hist = null;
        saveRoom(null);
        state.room = null;
        state.members.clear();
        renderMembers();
      } else {
        failed(p);
      }
      break;
    case "chatRes":
      if (p.result === 0) setStatus("Message sent", true, 0);
      else failed(p);
      break;
    case "chat":
      chatLine(p.userId, p.message);
      break;
    case "chatSeq": {
      const h = state.hist;
      if (h !== null && h.phase === "waiting") {
        h.buffer.push(p); // live, sent before the history: shown after it
        break;
      }
      showChatSeq(p);
      if (h !== null && h.phase === "receiving" && --h.remaining <= 0) historyDone();
      break;
    }
    case "historyRes": {
      const h = state.hist;
      if (h === null || h.phase !== "waiting") break; // not asked for
      if (p.result !== 0) {
        failed(p);
        state.hist = null;
        for (const q of h.buffer) showChatSeq(q);
        break;
      }
      if (p.lost && h.known) gapLine("Some messages were lost: the server no longer has them");
      Object.assign(h, { phase: "receiving", epoch: p.epoch, lastSeq: p.lastSeq, remaining: p.count, more: p.more });
      if (p.count === 0) historyDone();
      break;
    }
    case "echo":
      systemLine(`Echo: ${p.body.length} bytes`);
      break;
    case "createRes": {
      const name = state.pendingCreates.shift() ?? null;
      if (p.result === 0 && name !== null) {
        showCreateError(null);
        ui.roomName.value = "";
        ui.roomCapacity.value = "";
        setStatus(`Created room ${p.room} (${name}): click it to enter`, true, 0);
      } else {
        failed(p);
        showCreateError(ui.status.textContent);
      }
      break;
    }
    case "listRes":
      state.pendingLists = Math.max(0, state.pendingLists - 1);
      if (p.result === 0) {
        state.rooms.clear(); // the 305s that follow are the whole list
        state.roomsComplete = false;
      } else {
        failed(p);
      }
      renderRooms();
      break;
    case "roomList":
      for (const room of p.rooms) state.rooms.set(room.number, room);
      if (p.last) state.roomsComplete = true;
      renderRooms();
      break;
    case "roomChange":
      if (p.room.closed) state.rooms.delete(p.room.number);
      else state.rooms.set(p.room.number, p.room);
      renderRooms();
      break;
    default:
      console.debug("ringport: ignored packet id", p.id);
  }
  render();
}

function loggedIn(user, text) {
  state.user = user;
  state.retry.attempt = 0;
  state.tokenRetry.attempt = 0;
  cancelTokenRetry();
  ui.password.value = "";
  if (state.lastUser !== user) {
    // Another id: the old one's room and positions are not this one's.
    state.positions.clear();
    state.resumeRoom = null;
  }
  state.lastUser = user;
  setStatus(text, true, 0);
  // The lobby: list the rooms and keep watching them.
  if (sendPacket(proto.encodeListRooms(true))) state.pendingLists += 1;
  const room = state.resumeRoom;
  state.resumeRoom = null;
  if (room !== null) enterRoom(room);
}

/**
 * Asks for the messages of `room` after the last one shown, or for the
 * recent ones when none was (the answer gives the room's epoch either way).
 */
function requestHistory(room) {
  if ((state.features & proto.Feature.HISTORY) === 0) return;
  const pos = state.positions.get(room);
  const bytes = pos
    ? proto.encodeHistory(pos.epoch, pos.lastSeq, proto.HISTORY_MAX)
    : proto.encodeHistory(0n, proto.HISTORY_LAST, RECENT_MESSAGES);
  if (!sendPacket(bytes)) return;
  const buffer = state.hist?.buffer ?? [];
  state.hist = { room, phase: "waiting", known: pos !== undefined, remaining: 0, more: false, buffer };
}

/** The history's last 313 was shown: ask for more, or show what waited. */
function historyDone() {
  const h = state.hist;
  const pos = state.positions.get(h.room);
  if (h.more && h.room === state.room && pos !== undefined) {
    if (sendPacket(proto.encodeHistory(pos.epoch, pos.lastSeq, proto.HISTORY_MAX))) {
      Object.assign(h, { phase: "waiting", known: true, remaining: 0, more: false });
      return;
    }
  }
  // Everything up to the room's last message is shown (or was skipped on
  // purpose: the recent ones only).
  if (pos === undefined || pos.epoch !== h.epoch || pos.lastSeq < h.lastSeq) {
    state.positions.set(h.room, { epoch: h.epoch, lastSeq: h.lastSeq });
  }
  state.hist = null;
  for (const q of h.buffer) showChatSeq(q);
}

/** Shows a numbered message unless it was shown already (same epoch, seq not above the last). */
function showChatSeq(p) {
  if (p.room !== state.room) return;
  const pos = state.positions.get(p.room);
  if (pos !== undefined && pos.epoch === p.epoch && p.seq <= pos.lastSeq) return;
  state.positions.set(p.room, { epoch: p.epoch, lastSeq: p.seq });
  // The server's time of the message; 0 (a server without a wall clock): now.
  const ms = Number(p.timeMs);
  const li = chatLine(p.userId, p.message, ms > 0 ? new Date(ms) : new Date());
  li.dataset.epoch = p.epoch.toString();
  li.dataset.seq = p.seq.toString();
}

function failed(p) {
  // 0 lands here only for an answer to no request of ours.
  const text = proto.resultText(p.kind, p.result) ?? `Unexpected answer (${p.id}, result 0)`;
  setStatus(text, false, p.result);
}

// ---- user actions ---------------------------------------------------------

ui.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const user = ui.user.value;
  const password = ui.password.value;
  const problem =
    proto.checkText(user, proto.USER_ID_MAX, "User id") ||
    proto.checkText(password, proto.PASSWORD_MAX, "Password");
  if (problem) return setStatus(problem, false);
  if (sendPacket(proto.encodeLogin(user, password))) {
    state.pendingLogins.push(user);
    setStatus(`Logging in as ${user}…`, null);
  }
});

ui.roomForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.room.value.trim();
  const room = Number(text);
  if (text === "" || !Number.isInteger(room) || room < -0x80000000 || room > 0x7fffffff) {
    return setStatus("Room number must be a whole number", false);
  }
  enterRoom(room);
});

function enterRoom(room) {
  if (sendPacket(proto.encodeEnter(room))) {
    state.pendingRooms.push(room);
    setStatus(`Entering ${roomLabel(room)}…`, null);
  }
}

// A click on a room of the lobby enters it.
ui.rooms.addEventListener("click", (event) => {
  const li = event.target.closest("li[data-number]");
  if (!li || state.user === null || state.room !== null || state.pendingRooms.length > 0) return;
  enterRoom(Number(li.dataset.number));
});

ui.createForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.roomName.value;
  const capText = ui.roomCapacity.value.trim();
  const capacity = capText === "" ? 0 : Number(capText);
  let problem = proto.checkRoomName(name);
  const badCapacity = !Number.isInteger(capacity) || capacity < 1 || capacity > proto.MAX_USERS_MAX;
  if (!problem && (ui.roomCapacity.validity.badInput || (capText !== "" && badCapacity))) {
    problem = `Capacity must be a whole number from 1 to ${proto.MAX_USERS_MAX}, or empty for the server's default`;
  }
  if (problem) {
    showCreateError(problem);
    return setStatus(problem, false);
  }
  if (sendPacket(proto.encodeCreateRoom(name, capacity))) {
    state.pendingCreates.push(name);
    showCreateError(null);
    setStatus(`Creating room ${name}…`, null);
  }
});

ui.leave.addEventListener("click", () => {
  if (sendPacket(proto.encodeLeave())) setStatus(`Leaving room ${state.room}…`, null);
});

ui.chatForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.message.value;
  const problem = proto.checkText(text, proto.MESSAGE_MAX, "Message");
  if (problem) return setStatus(problem, false);
  if (sendPacket(proto.encodeChat(text))) {
    ui.message.value = "";
    updateCounter();
  }
});

// Live UTF-8 byte count: the limit is in bytes, not characters.
function updateCounter() {
  const len = proto.utf8Len(ui.message.value);
  ui.messageBytes.textContent = `${len}/${proto.MESSAGE_MAX}`;
  ui.messageBytes.classList.toggle("over", len > proto.MESSAGE_MAX);
}
ui.message.addEventListener("input", updateCounter);

ui.reconnect.addEventListener("click", () => connect());

// Log out: forget the saved session, end this one (a new connection).
ui.logout.addEventListener("click", () => {
  forgetSaved();
  state.positions.clear();
  state.resumeRoom = null;
  state.lastUser = null;
  state.retry.attempt = 0;
  state.tokenRetry.attempt = 0;
  connect();
  setStatus("Logged out", true);
});

// ---- rendering ------------------------------------------------------------

/** Enables what makes sense in the current state; mirrors it in data-*. */
function render() {
  const open = state.conn === "open";
  const session = state.room !== null ? "inRoom" : state.user !== null ? "loggedIn" : "connected";
  ui.body.dataset.session = session;
  ui.user.disabled = ui.password.disabled = ui.login.disabled =
    !open || state.user !== null || state.pendingToken !== null;
  ui.logout.hidden = state.user === null;
  ui.room.disabled = ui.enter.disabled = !open || state.user === null || state.room !== null;
  ui.leave.disabled = !open || state.room === null;
  ui.message.disabled = ui.send.disabled = !open || state.room === null;
  ui.roomName.disabled = ui.roomCapacity.disabled = ui.create.disabled = !open || state.user === null;
  ui.roomState.textContent = state.room !== null ? `in ${roomLabel(state.room)}` : "not in a room";
  const where = state.room !== null ? ` · ${roomLabel(state.room)}` : "";
  ui.sessionInfo.textContent = state.user !== null ? `${state.user}${where}` : "";
}

function renderMembers() {
  const items = [];
  if (state.room !== null && state.user !== null) items.push(memberItem(null, state.user));
  for (const [uid, userId] of state.members) items.push(memberItem(uid, userId));
  ui.members.replaceChildren(...items);
  ui.members.dataset.complete = String(state.listComplete);
  ui.memberCount.textContent = state.room !== null ? `(${items.length})` : "";
}

/** "room 3" for a fixed room, "rust (room 1000)" for a created one. */
function roomLabel(number) {
  const name = state.rooms.get(number)?.name;
  return name ? `${name} (room ${number})` : `room ${number}`;
}

/** The lobby's list: fixed rooms by number, then created rooms by number. */
function renderRooms() {
  const rooms = [...state.rooms.values()].sort(
    (a, b) => Number(a.created) - Number(b.created) || a.number - b.number,
  );
  ui.rooms.replaceChildren(...rooms.map(roomItem));
  ui.rooms.dataset.complete = String(state.roomsComplete);
  ui.roomCount.textContent = state.rooms.size > 0 ? `(${state.rooms.size})` : "";
}

function roomItem(room) {
  const li = document.createElement("li");
  li.dataset.number = String(room.number);
  li.dataset.created = String(room.created);
  if (room.name !== null) li.dataset.name = room.name;
  li.dataset.users = String(room.users);
  li.dataset.maxUsers = String(room.maxUsers);
  const full = room.users >= room.maxUsers;
  li.classList.toggle("full", full);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "room-enter";
  button.title = `Enter room ${room.number}`;
  button.append(span("room-name", room.name ?? `Room ${room.number}`));
  if (room.name !== null) button.append(span("room-number muted", `#${room.number}`));
  button.append(span("room-users", `${room.users}/${room.maxUsers}${full ? " full" : ""}`));
  li.append(button);
  return li;
}

function showCreateError(text) {
  ui.createError.textContent = text ?? "";
  ui.createError.hidden = text === null;
}

function memberItem(uid, userId) {
  const li = document.createElement("li");
  li.dataset.userId = userId;
  const name = span("name", userId);
  li.append(name);
  if (uid === null) {
    li.dataset.self = "true";
    li.classList.add("self");
    li.append(span("you", " (you)"));
  } else {
    li.dataset.uid = uid;
  }
  return li;
}

function chatLine(sender, text, when = new Date()) {
  const own = state.user !== null && sender === state.user;
  const li = line("chat", when);
  li.dataset.sender = sender;
  li.dataset.own = String(own);
  if (own) li.classList.add("own");
  li.append(span("sender", sender), span("text", text));
  appendLine(li);
  return li;
}

function systemLine(text) {
  const li = line("system");
  li.append(span("text", text));
  appendLine(li);
}

/** A visible gap in the log: messages that cannot be shown. */
function gapLine(text) {
  const li = line("gap");
  li.setAttribute("role", "separator");
  li.append(span("text", text));
  appendLine(li);
}

function line(kind, now = new Date()) {
  const li = document.createElement("li");
  li.className = `line ${kind}`;
  li.dataset.kind = kind;
  const time = document.createElement("time");
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  time.title = now.toLocaleString();
  li.append(time);
  return li;
}

function appendLine(li) {
  const log = ui.log;
  // Follow new lines only when the reader is already at the bottom.
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  while (log.childElementCount > MAX_LOG_LINES) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function span(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text; // never innerHTML: text comes from other users
  return s;
}

/** The last result: ok true (success), false (failure) or null (waiting). */
function setStatus(text, ok, code = null) {
  ui.status.textContent = text;
  ui.status.dataset.ok = ok === null ? "" : String(ok);
  if (code !== null) ui.status.dataset.code = String(code);
  else delete ui.status.dataset.code;
}

connect();
