// ringport web client: one WebSocket at /ws on this origin, one binary
// message per packet (see proto.js). No framework: a little state, a few
// DOM helpers, one handler per packet kind.
//
// After login the page watches the room list (303 with watch 1) and shows
// it as the lobby while not in a room: 305s build it, 306s keep it current.
// A click on a room enters it by number (206), created rooms included: the
// number is what the list gives and names one room exactly.
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
  state.pendingCreates = [];
  state.pendingLists = 0;
  state.rooms.clear();
  state.roomsComplete = true;
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
        state.user = user;
        ui.password.value = "";
        setStatus(`Logged in as ${user}`, true, 0);
        // The lobby: list the rooms and keep watching them.
        if (sendPacket(proto.encodeListRooms(true))) state.pendingLists += 1;
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
        showCreateError(null);
        setStatus(`Entered ${roomLabel(room)}`, true, 0);
        systemLine(`You entered ${roomLabel(room)}`);
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
        systemLine(`You left ${roomLabel(state.room)}`);
        setStatus(`Left ${roomLabel(state.room)}`, true, 0);
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
