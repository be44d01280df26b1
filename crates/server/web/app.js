// ringport web client: one WebSocket at /ws on this origin, one binary
// message per packet (see proto.js). No framework: a little state, a few
// DOM helpers, one handler per packet kind.
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
};

const MAX_LOG_LINES = 1000;

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
};

// ---- connection -----------------------------------------------------------

function connect() {
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
  ws.onopen = () => {
    if (ws === state.ws) setConn("open");
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
    resetSession();
    setConn("closed", event.code, event.reason);
  };
}

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
  render();
}

function sendPacket(bytes) {
  if (!state.ws || state.conn !== "open") {
    setStatus("Not connected: press Reconnect", false);
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
  renderMembers();
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
        state.user = user;
        ui.password.value = "";
        setStatus(`Logged in as ${user}`, true, 0);
      } else {
        failed(p);
      }
      break;
    }
    case "enterRes": {
      const room = state.pendingRooms.shift() ?? null;
      if (p.result === 0 && room !== null) {
        state.room = room;
        state.members.clear();
        state.listComplete = false; // a 209 list follows
        setStatus(`Entered room ${room}`, true, 0);
        systemLine(`You entered room ${room}`);
        renderMembers();
      } else {
        failed(p);
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
        systemLine(`You left room ${state.room}`);
        setStatus(`Left room ${state.room}`, true, 0);
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
    case "echo":
      systemLine(`Echo: ${p.body.length} bytes`);
      break;
    default:
      console.debug("ringport: ignored packet id", p.id);
  }
  render();
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
  if (sendPacket(proto.encodeEnter(room))) {
    state.pendingRooms.push(room);
    setStatus(`Entering room ${room}…`, null);
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

ui.reconnect.addEventListener("click", connect);

// ---- rendering ------------------------------------------------------------

/** Enables what makes sense in the current state; mirrors it in data-*. */
function render() {
  const open = state.conn === "open";
  const session = state.room !== null ? "inRoom" : state.user !== null ? "loggedIn" : "connected";
  ui.body.dataset.session = session;
  ui.user.disabled = ui.password.disabled = ui.login.disabled = !open || state.user !== null;
  ui.room.disabled = ui.enter.disabled = !open || state.user === null || state.room !== null;
  ui.leave.disabled = !open || state.room === null;
  ui.message.disabled = ui.send.disabled = !open || state.room === null;
  ui.roomState.textContent = state.room !== null ? `in room ${state.room}` : "not in a room";
  const where = state.room !== null ? ` · room ${state.room}` : "";
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

function chatLine(sender, text) {
  const own = state.user !== null && sender === state.user;
  const li = line("chat");
  li.dataset.sender = sender;
  li.dataset.own = String(own);
  if (own) li.classList.add("own");
  li.append(span("sender", sender), span("text", text));
  appendLine(li);
}

function systemLine(text) {
  const li = line("system");
  li.append(span("text", text));
  appendLine(li);
}

function line(kind) {
  const li = document.createElement("li");
  li.className = `line ${kind}`;
  li.dataset.kind = kind;
  const now = new Date();
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
