//! The subscriber thread: one pub/sub connection, subscribed to the
//! lobby channel (the created-room registry's changes, member counts) and
//! to the channel of each room this node has members in, nothing else.
//!
//! The node thread changes the subscriptions by writing SUBSCRIBE and
//! UNSUBSCRIBE on a clone of the socket ([`Subscriptions`]); this thread
//! only reads. Messages from other nodes become
//! [`ClusterEvent::Remote`] events for the logic thread (numbered chats
//! this node published included: its history members get their 313s from
//! here); this node's own
//! messages (same origin) are skipped. On a lost connection it reconnects
//! (after a short back-off) and subscribes again to the current rooms.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ringport_chat::cluster::wire::{self, LobbyChange};
use ringport_chat::{ClusterEvent, RoomChange};

use super::counters::Counters;
use super::resp::{self, Value};
use super::Settings;
use crate::inbox::{Inbox, InboxSender};

/// How long a read waits before the thread checks for shutdown.
const READ_POLL: Duration = Duration::from_millis(250);

/// The rooms to be subscribed to and the socket to write (un)subscribes
/// on, shared by the node thread and the subscriber thread.
#[derive(Default)]
pub struct Subscriptions {
    inner: Mutex<SubState>,
    /// Signalled when Redis confirms a subscription.
    confirmed_cv: Condvar,
    /// The registry's version delivered last, and whether the next
    /// snapshot must be taken whatever its version (after a reconnect).
    registry: Mutex<RegistryOrder>,
}

#[derive(Default)]
struct RegistryOrder {
    delivered: u64,
    force: bool,
}

#[derive(Default)]
struct SubState {
    rooms: BTreeSet<i32>,
    /// Rooms whose subscription Redis has confirmed on this connection.
    confirmed: BTreeSet<i32>,
    writer: Option<TcpStream>,
}

impl Subscriptions {
    fn lock(&self) -> MutexGuard<'_, SubState> {
        // A set of numbers and a socket: consistent between operations.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes to `room`'s channel (if not already) and waits, at most
    /// `wait`, until Redis has confirmed it, so that nothing published
    /// after this returns is missed. Does not wait while the subscriber is
    /// disconnected (it subscribes when it reconnects).
    pub fn add(&self, settings: &Settings, room: i32, wait: Duration) {
        let mut state = self.lock();
        if state.rooms.insert(room) {
            let channel = settings.channel(room);
            write(&mut state, &[b"SUBSCRIBE", channel.as_bytes()]);
        }
        let deadline = Instant::now() + wait;
        while state.writer.is_some() && !state.confirmed.contains(&room) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::debug!(room, "subscription not confirmed in time");
                return;
            }
            state = self
                .confirmed_cv
                .wait_timeout(state, left)
                .map_or_else(|e| e.into_inner().0, |(s, _)| s);
        }
    }

    fn confirm(&self, room: i32, subscribed: bool) {
        let mut state = self.lock();
        if subscribed {
            state.confirmed.insert(room);
        } else {
            state.confirmed.remove(&room);
        }
        drop(state);
        self.confirmed_cv.notify_all();
    }

    fn disconnected(&self) {
        let mut state = self.lock();
        state.writer = None;
        state.confirmed.clear();
        drop(state);
        self.confirmed_cv.notify_all();
    }

    fn registry(&self) -> MutexGuard<'_, RegistryOrder> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a snapshot of the registry is wanted now (the subscriber
    /// reconnected: changes may have been missed); clears the wish.
    pub fn snapshot_wanted(&self) -> bool {
        std::mem::take(&mut self.registry().force)
    }

    /// Delivers a registry change of `version` unless the snapshot
    /// delivered last holds it already. False when the logic thread is
    /// gone.
    fn registry_change(
        &self,
        version: u64,
        event: ClusterEvent,
        events: &InboxSender<Inbox>,
    ) -> bool {
        let mut order = self.registry();
        if version <= order.delivered {
            return true;
        }
        order.delivered = version;
        events.send(Inbox::Cluster(event)).is_ok()
    }

    /// Delivers a registry snapshot of `version` (`events`, sent in order)
    /// unless a newer change was delivered already; `forced` (after a
    /// reconnect: the version may have restarted) delivers it anyway.
    pub fn registry_snapshot(
        &self,
        version: u64,
        forced: bool,
        snapshot: Vec<ClusterEvent>,
        events: &InboxSender<Inbox>,
    ) {
        let mut order = self.registry();
        if !forced && version < order.delivered {
            tracing::debug!(version, "registry snapshot older than a change: dropped");
            return;
        }
        order.delivered = version;
        for event in snapshot {
            let _ = events.send(Inbox::Cluster(event));
        }
    }

    /// The subscriber (re)connected: versions may have restarted (a Redis
    /// that lost its data) and changes were missed: take the next
    /// snapshot whatever its version.
    fn registry_reconnected(&self) {
        let mut order = self.registry();
        order.delivered = 0;
        order.force = true;
    }

    /// Unsubscribes from `room`'s channel.
    pub fn remove(&self, settings: &Settings, room: i32) {
        let mut state = self.lock();
        state.confirmed.remove(&room);
        if state.rooms.remove(&room) {
            let channel = settings.channel(room);
            write(&mut state, &[b"UNSUBSCRIBE", channel.as_bytes()]);
        }
    }
}

fn write(state: &mut SubState, args: &[&[u8]]) {
    let bytes = resp::command(args.iter().copied());
    if let Some(w) = state.writer.as_mut() {
        if let Err(e) = w.write_all(&bytes) {
            tracing::debug!(error = %e, "cluster subscriber write failed");
            // The reader sees the broken connection and reconnects.
            let _ = w.shutdown(std::net::Shutdown::Both);
            state.writer = None;
        }
    }
}

/// Runs the subscriber until `stop`.
pub fn run(
    settings: Arc<Settings>,
    subs: Arc<Subscriptions>,
    events: InboxSender<Inbox>,
    stop: Arc<AtomicBool>,
    counters: &Counters,
) {
    let mut logged_down = false;
    let mut connected_once = false;
    while !stop.load(Ordering::Relaxed) {
        match connect(&settings, &subs) {
            Ok(stream) => {
                if connected_once {
                    counters.reconnect();
                }
                connected_once = true;
                if logged_down {
                    tracing::info!("cluster subscriber reconnected");
                    logged_down = false;
                }
                if events.send(Inbox::Cluster(ClusterEvent::Resync)).is_err() {
                    return;
                }
                if read_loop(&settings, &subs, stream, &events, &stop, counters) {
                    counters.redis_error();
                }
                subs.disconnected();
            }
            Err(e) => {
                counters.redis_error();
                if !logged_down {
                    tracing::warn!(error = %e, "cluster subscriber cannot reach redis; retrying");
                    logged_down = true;
                }
            }
        }
        if !stop.load(Ordering::Relaxed) {
            std::thread::sleep(settings.backoff);
        }
    }
}

fn connect(settings: &Settings, subs: &Subscriptions) -> std::io::Result<TcpStream> {
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(settings.host.as_str(), settings.port))?
        .next()
        .ok_or_else(|| std::io::Error::other("redis address does not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&addr, settings.timeout)?;
    stream.set_read_timeout(Some(READ_POLL))?;
    stream.set_write_timeout(Some(settings.timeout))?;
    stream.set_nodelay(true)?;
    if let Some(password) = &settings.password {
        let auth = match &settings.username {
            Some(user) => resp::command([&b"AUTH"[..], user.as_bytes(), password.as_bytes()]),
            None => resp::command([&b"AUTH"[..], password.as_bytes()]),
        };
        stream.write_all(&auth)?;
    }
    let mut state = subs.lock();
    let writer = stream.try_clone()?;
    state.writer = Some(writer);
    let mut channels: Vec<String> = vec![settings.lobby()];
    channels.extend(state.rooms.iter().map(|&r| settings.channel(r)));
    let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
    args.extend(channels.iter().map(|c| c.as_bytes()));
    write(&mut state, &args);
    drop(state);
    subs.registry_reconnected();
    Ok(stream)
}

/// Reads until the connection breaks (true), or `stop` or the logic
/// thread is gone (false).
fn read_loop(
    settings: &Settings,
    subs: &Subscriptions,
    mut stream: TcpStream,
    events: &InboxSender<Inbox>,
    stop: &AtomicBool,
    counters: &Counters,
) -> bool {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => {
                tracing::warn!("cluster subscriber: redis closed the connection");
                return true;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cluster subscriber: connection lost");
                return true;
            }
        }
        let mut used = 0;
        loop {
            match resp::parse(&buf[used..]) {
                Ok(Some((value, len))) => {
                    used += len;
                    if !deliver(settings, subs, value, events, counters) {
                        return false;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = e.0, "cluster subscriber: bad reply from redis");
                    return true;
                }
            }
        }
        buf.drain(..used);
    }
    false
}

/// Handles one value; false when the logic thread is gone.
fn deliver(
    settings: &Settings,
    subs: &Subscriptions,
    value: Value,
    events: &InboxSender<Inbox>,
    counters: &Counters,
) -> bool {
    let items = match value {
        Value::Array(Some(items)) => items,
        Value::Error(e) => {
            counters.redis_error();
            tracing::warn!(error = %e, "cluster subscriber: redis refused a command");
            return true;
        }
        _ => return true,
    };
    if let [Value::Bulk(Some(kind)), Value::Bulk(Some(channel)), Value::Int(_)] = items.as_slice() {
        let subscribed = match kind.as_slice() {
            b"subscribe" => true,
            b"unsubscribe" => false,
            _ => return true,
        };
        if let Some(room) = settings.room_of(channel) {
            subs.confirm(room, subscribed);
        }
        return true;
    }
    let [Value::Bulk(Some(kind)), Value::Bulk(Some(channel)), Value::Bulk(Some(payload))] =
        items.as_slice()
    else {
        return true;
    };
    if kind != b"message" {
        return true;
    }
    if channel.as_slice() == settings.lobby().as_bytes() {
        return lobby(subs, payload, events);
    }
    let Some(room) = settings.room_of(channel) else {
        tracing::debug!("cluster message on an unknown channel ignored");
        return true;
    };
    match wire::parse(payload) {
        // This node's numbered chats come back: its history members get
        // their 313 in the channel's (the numbers') order.
        Ok(wire::BusMessage {
            origin,
            change: RoomChange::NumberedChat { number, packet, .. },
        }) => events
            .send(Inbox::Cluster(ClusterEvent::Remote {
                room,
                change: RoomChange::NumberedChat {
                    number,
                    own: origin == settings.node_id,
                    packet,
                },
            }))
            .is_ok(),
        Ok(msg) if msg.origin == settings.node_id => true,
        Ok(msg) => events
            .send(Inbox::Cluster(ClusterEvent::Remote {
                room,
                change: msg.change,
            }))
            .is_ok(),
        Err(e) => {
            tracing::debug!(error = %e, room, "bad cluster message ignored");
            true
        }
    }
}

/// Handles a lobby message; false when the logic thread is gone.
fn lobby(subs: &Subscriptions, payload: &[u8], events: &InboxSender<Inbox>) -> bool {
    match wire::parse_lobby(payload) {
        Ok(msg) => match msg.change {
            LobbyChange::Opened { version, room } => {
                subs.registry_change(version, ClusterEvent::RoomOpened(room), events)
            }
            LobbyChange::Closed { version, number } => {
                subs.registry_change(version, ClusterEvent::RoomClosed { number }, events)
            }
            LobbyChange::Users { room, users } => events
                .send(Inbox::Cluster(ClusterEvent::RoomUsers { room, users }))
                .is_ok(),
        },
        Err(e) => {
            tracing::debug!(error = %e, "bad lobby message ignored");
            true
        }
    }
}
