//! The history store of a single node (`chat.history_store`): the chat
//! machine numbers and keeps each room's last `chat.history_len` messages
//! in memory, and with `sqlite` or `redis` this module keeps a copy that
//! survives a restart.
//!
//! - **At start** ([`open`]) the store's logs of the fixed rooms are read
//!   and handed to the machine (`Chat::restore_history`) before it takes
//!   its first input, so epochs and sequence numbers go on where they
//!   were. What the store holds for other rooms (created rooms, which do
//!   not survive a restart) is deleted.
//! - **While running** the machine hands every numbered message and every
//!   forgotten log to the host ([`ringport_chat::HistoryWrite`]), which
//!   queues it here without waiting ([`HistoryStore::submit`]: a bounded
//!   channel; when it is full the write is dropped and counted). One
//!   writer thread (`ringport-history`) writes them in batches: SQLite, one
//!   transaction per batch; Redis, one pipeline per batch.
//!
//! Layouts. SQLite: one table `chat_history (room, seq, epoch, time_ms,
//! packet)`, the last `history_len` rows per room (a row of another epoch
//! is deleted when a room starts a new one). Redis: per room a hash
//! `PREFIXroom:<n>:history` (`epoch`, `seq`: the last number given) and a
//! stream `PREFIXroom:<n>:log` capped at `history_len` entries, id
//! `<seq>-0`, fields `t` (Unix ms) and `p` (the encoded 223) — the layout
//! the cluster uses (see docs/SCALING.md), so a node can move to a cluster
//! and keep its history.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use ringport_chat::{HistoryRecord, HistoryWrite, RestoredLog};
use ringport_net::crossbeam_channel::{self, Receiver, Sender, TrySendError};

/// Writes queued for the writer thread at most.
const QUEUE: usize = 65_536;

/// Writes per batch at most.
const BATCH: usize = 1024;

/// Where the history is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// In the machine only (lost at restart).
    Memory,
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A Redis server: its URL and the key prefix.
    Redis {
        /// `redis://…`.
        url: String,
        /// Prefix of the keys (`cluster.prefix`).
        prefix: String,
    },
}

/// The running writer; the logic thread's handle.
pub struct HistoryStore {
    tx: Option<Sender<HistoryWrite>>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl HistoryStore {
    /// Queues a write; never blocks. A full queue (the store is slower than
    /// the chats) drops it and counts it.
    pub fn submit(&self, write: HistoryWrite) {
        let Some(tx) = self.tx.as_ref() else {
            return;
        };
        match tx.try_send(write) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Writes dropped so far (queue full, or the store refused them).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for HistoryStore {
    fn drop(&mut self) {
        // The writer drains what is queued, then exits.
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A store's writing side.
trait Backend: Send {
    /// Writes one batch, in order.
    fn write(&mut self, batch: &[HistoryWrite]) -> Result<(), String>;
}

/// The fixed rooms, `start ..= start + count - 1`.
#[derive(Debug, Clone, Copy)]
pub struct FixedRooms {
    /// The first.
    pub start: i32,
    /// How many.
    pub count: u32,
}

impl FixedRooms {
    fn contains(self, room: i32) -> bool {
        i64::from(room) >= i64::from(self.start)
            && i64::from(room) < i64::from(self.start) + i64::from(self.count)
    }

    fn iter(self) -> impl Iterator<Item = i32> {
        (0..self.count).filter_map(move |i| self.start.checked_add(i32::try_from(i).ok()?))
    }
}

/// Opens the store `kind` keeping `len` messages per room: the logs to
/// restore and the writer (`None` for memory, or with history off).
///
/// # Errors
///
/// An SQLite file that cannot be opened or read, or a thread that cannot
/// be spawned. A Redis that cannot be reached is not an error: the node
/// starts with empty logs (new epochs) and the writer keeps trying.
pub fn open(
    kind: &Kind,
    len: usize,
    rooms: FixedRooms,
    timeout: Duration,
) -> anyhow::Result<(Vec<RestoredLog>, Option<HistoryStore>)> {
    if len == 0 {
        return Ok((Vec::new(), None));
    }
    let (logs, backend): (Vec<RestoredLog>, Box<dyn Backend>) = match kind {
        Kind::Memory => return Ok((Vec::new(), None)),
        Kind::Sqlite(path) => {
            let mut store = Sqlite::open(path, len, timeout)
                .with_context(|| format!("chat.history_sqlite {}", path.display()))?;
            let logs = store
                .load(rooms)
                .with_context(|| format!("chat.history_sqlite {}", path.display()))?;
            (logs, Box::new(store))
        }
        Kind::Redis { url, prefix } => {
            let client = redis::Client::open(url.as_str())
                .map_err(|e| anyhow::anyhow!("chat.history_redis: invalid Redis URL ({e})"))?;
            let mut store = Redis {
                client,
                conn: None,
                retry_at: None,
                prefix: prefix.clone(),
                len,
                timeout,
            };
            let logs = match store.load(rooms) {
                Ok(logs) => logs,
                Err(e) => {
                    tracing::warn!(error = %e, "history redis not reachable at start: rooms start new epochs");
                    Vec::new()
                }
            };
            (logs, Box::new(store))
        }
    };
    let (tx, rx) = crossbeam_channel::bounded(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let thread = {
        let dropped = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("ringport-history".into())
            .spawn(move || run(backend, &rx, &dropped))
            .context("cannot start the history writer")?
    };
    Ok((
        logs,
        Some(HistoryStore {
            tx: Some(tx),
            dropped,
            thread: Some(thread),
        }),
    ))
}

/// The writer thread: batches until the logic thread drops its sender.
fn run(mut backend: Box<dyn Backend>, rx: &Receiver<HistoryWrite>, dropped: &AtomicU64) {
    let mut failing = false;
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(64);
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        match backend.write(&batch) {
            Ok(()) => {
                if failing {
                    tracing::info!("history store writable again");
                    failing = false;
                }
            }
            Err(e) => {
                dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                if !failing {
                    tracing::warn!(error = %e, "history store write failed: messages not kept across a restart until it recovers");
                    failing = true;
                }
            }
        }
    }
}

// ---------------------------------------------------------------- SQLite

struct Sqlite {
    conn: rusqlite::Connection,
    len: u64,
    /// Each room's epoch in the table.
    epochs: HashMap<i32, u64>,
}

impl Sqlite {
    fn open(path: &Path, len: usize, timeout: Duration) -> anyhow::Result<Sqlite> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(timeout)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        anyhow::ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "cannot switch to WAL mode (journal_mode is {mode})"
        );
        // A message is worth less than an account: a power cut may lose
        // the last batches (never corrupt the file).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS chat_history (
                 room    INTEGER NOT NULL,
                 seq     INTEGER NOT NULL,
                 epoch   INTEGER NOT NULL,
                 time_ms INTEGER NOT NULL,
                 packet  BLOB NOT NULL,
                 PRIMARY KEY (room, seq)
             ) WITHOUT ROWID",
        )?;
        Ok(Sqlite {
            conn,
            len: u64::try_from(len).unwrap_or(u64::MAX),
            epochs: HashMap::new(),
        })
    }

    /// The fixed rooms' logs; other rooms' rows deleted.
    fn load(&mut self, rooms: FixedRooms) -> anyhow::Result<Vec<RestoredLog>> {
        let mut logs: BTreeMap<i32, RestoredLog> = BTreeMap::new();
        let mut stale = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT room, seq, epoch, time_ms, packet FROM chat_history ORDER BY room, seq",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let room: i32 = row.get(0)?;
                let (seq, epoch, time_ms): (i64, i64, i64) =
                    (row.get(1)?, row.get(2)?, row.get(3)?);
                let packet: Vec<u8> = row.get(4)?;
                if !rooms.contains(room) {
                    stale.push(room);
                    continue;
                }
                let (Ok(seq), Ok(epoch)) = (u64::try_from(seq), u64::try_from(epoch)) else {
                    continue;
                };
                let log = logs.entry(room).or_insert_with(|| RestoredLog {
                    room,
                    epoch,
                    ..RestoredLog::default()
                });
                if log.epoch != epoch {
                    // Left over from an interrupted epoch change: the
                    // newer epoch wins.
                    if epoch > log.epoch {
                        *log = RestoredLog {
                            room,
                            epoch,
                            ..RestoredLog::default()
                        };
                    } else {
                        continue;
                    }
                }
                log.last_seq = log.last_seq.max(seq);
                log.entries.push((seq, time_ms, Bytes::from(packet)));
            }
        }
        stale.dedup();
        for room in stale {
            self.conn
                .execute("DELETE FROM chat_history WHERE room = ?1", [room])?;
        }
        for log in logs.values() {
            self.epochs.insert(log.room, log.epoch);
        }
        Ok(logs.into_values().collect())
    }

    fn append(
        tx: &rusqlite::Transaction<'_>,
        epochs: &mut HashMap<i32, u64>,
        len: u64,
        r: &HistoryRecord,
    ) -> rusqlite::Result<()> {
        let (Ok(epoch), Ok(seq)) = (i64::try_from(r.epoch), i64::try_from(r.seq)) else {
            return Ok(());
        };
        if epochs.get(&r.room) != Some(&r.epoch) {
            tx.execute(
                "DELETE FROM chat_history WHERE room = ?1 AND epoch <> ?2",
                rusqlite::params![r.room, epoch],
            )?;
            epochs.insert(r.room, r.epoch);
        }
        tx.execute(
            "INSERT OR REPLACE INTO chat_history (room, seq, epoch, time_ms, packet)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![r.room, seq, epoch, r.time_ms, &r.packet[..]],
        )?;
        if let Some(oldest) = r.seq.checked_sub(len).and_then(|s| i64::try_from(s).ok()) {
            tx.execute(
                "DELETE FROM chat_history WHERE room = ?1 AND seq <= ?2",
                rusqlite::params![r.room, oldest],
            )?;
        }
        Ok(())
    }
}

impl Backend for Sqlite {
    fn write(&mut self, batch: &[HistoryWrite]) -> Result<(), String> {
        let len = self.len;
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        for write in batch {
            let done = match write {
                HistoryWrite::Append(r) => Self::append(&tx, &mut self.epochs, len, r),
                HistoryWrite::Forget { room } => {
                    self.epochs.remove(room);
                    tx.execute("DELETE FROM chat_history WHERE room = ?1", [room])
                        .map(|_| ())
                }
            };
            done.map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }
}

// ----------------------------------------------------------------- Redis

/// Appends one message: a new epoch empties the room's stream first.
/// KEYS: history hash, stream. ARGV: epoch, seq, time_ms, packet, maxlen.
const APPEND: &str = r"
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[1])
end
redis.call('HSET', KEYS[1], 'seq', ARGV[2])
redis.pcall('XADD', KEYS[2], 'MAXLEN', ARGV[5], ARGV[2] .. '-0', 't', ARGV[3], 'p', ARGV[4])
return 1
";

struct Redis {
    client: redis::Client,
    conn: Option<redis::Connection>,
    retry_at: Option<Instant>,
    prefix: String,
    len: usize,
    timeout: Duration,
}

/// The keys of `room`'s history: its hash and its stream.
pub fn redis_keys(prefix: &str, room: i32) -> (String, String) {
    (
        format!("{prefix}room:{room}:history"),
        format!("{prefix}room:{room}:log"),
    )
}

/// Parses a stream's entries (`XRANGE` reply): sequence number (from the
/// id `<seq>-0`), time, packet. Entries of another shape are skipped.
pub fn parse_entries(value: redis::Value) -> Vec<(u64, i64, Bytes)> {
    let redis::Value::Array(items) = value else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let redis::Value::Array(pair) = item else {
            continue;
        };
        let mut pair = pair.into_iter();
        let (Some(redis::Value::BulkString(id)), Some(redis::Value::Array(fields))) =
            (pair.next(), pair.next())
        else {
            continue;
        };
        let Some(seq) = std::str::from_utf8(&id)
            .ok()
            .and_then(|id| id.split('-').next())
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        let (mut time, mut packet) = (None, None);
        let mut fields = fields.into_iter();
        while let (Some(redis::Value::BulkString(k)), Some(redis::Value::BulkString(v))) =
            (fields.next(), fields.next())
        {
            match k.as_slice() {
                b"t" => time = std::str::from_utf8(&v).ok().and_then(|t| t.parse().ok()),
                b"p" => packet = Some(Bytes::from(v)),
                _ => {}
            }
        }
        if let (Some(time), Some(packet)) = (time, packet) {
            out.push((seq, time, packet));
        }
    }
    out
}

impl Redis {
    fn connection(&mut self) -> Result<&mut redis::Connection, String> {
        if self.conn.is_none() {
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                return Err("history redis unavailable (retrying)".into());
            }
            let conn = self
                .client
                .get_connection_with_timeout(self.timeout)
                .and_then(|c| {
                    c.set_read_timeout(Some(self.timeout))?;
                    c.set_write_timeout(Some(self.timeout))?;
                    Ok(c)
                });
            match conn {
                Ok(c) => {
                    self.conn = Some(c);
                    self.retry_at = None;
                }
                Err(e) => {
                    self.retry_at = Some(Instant::now() + Duration::from_millis(500));
                    return Err(e.to_string());
                }
            }
        }
        self.conn
            .as_mut()
            .ok_or_else(|| "history redis unavailable".to_string())
    }

    fn query(&mut self, pipe: &redis::Pipeline) -> Result<Vec<redis::Value>, String> {
        let conn = self.connection()?;
        match pipe.query(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.conn = None;
                Err(e.to_string())
            }
        }
    }

    fn load(&mut self, rooms: FixedRooms) -> Result<Vec<RestoredLog>, String> {
        let all: Vec<i32> = rooms.iter().collect();
        let mut logs = Vec::new();
        for chunk in all.chunks(512) {
            let mut pipe = redis::pipe();
            for &room in chunk {
                let (hash, stream) = redis_keys(&self.prefix, room);
                pipe.cmd("HMGET").arg(&hash).arg("epoch").arg("seq");
                pipe.cmd("XRANGE").arg(&stream).arg("-").arg("+");
            }
            let replies = self.query(&pipe)?;
            let mut replies = replies.into_iter();
            for &room in chunk {
                let (Some(head), Some(entries)) = (replies.next(), replies.next()) else {
                    break;
                };
                let head: Vec<Option<String>> = redis::from_redis_value(head).unwrap_or_default();
                let number = |i: usize| {
                    head.get(i)
                        .and_then(Option::as_deref)
                        .and_then(|s| s.parse::<u64>().ok())
                };
                let (Some(epoch), Some(last_seq)) = (number(0), number(1)) else {
                    continue;
                };
                logs.push(RestoredLog {
                    room,
                    epoch,
                    last_seq,
                    entries: parse_entries(entries),
                });
            }
        }
        Ok(logs)
    }
}

impl Backend for Redis {
    fn write(&mut self, batch: &[HistoryWrite]) -> Result<(), String> {
        let mut pipe = redis::pipe();
        for write in batch {
            match write {
                HistoryWrite::Append(r) => {
                    let (hash, stream) = redis_keys(&self.prefix, r.room);
                    pipe.cmd("EVAL")
                        .arg(APPEND)
                        .arg(2)
                        .arg(hash)
                        .arg(stream)
                        .arg(r.epoch)
                        .arg(r.seq)
                        .arg(r.time_ms)
                        .arg(&r.packet[..])
                        .arg(self.len)
                        .ignore();
                }
                HistoryWrite::Forget { room } => {
                    let (hash, stream) = redis_keys(&self.prefix, *room);
                    pipe.cmd("DEL").arg(hash).arg(stream).ignore();
                }
            }
        }
        self.query(&pipe).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(room: i32, epoch: u64, seq: u64) -> HistoryWrite {
        HistoryWrite::Append(HistoryRecord {
            room,
            epoch,
            seq,
            time_ms: 1000 + i64::try_from(seq).unwrap_or(0),
            packet: Bytes::from(vec![u8::try_from(seq % 256).unwrap_or(0)]),
        })
    }

    #[test]
    fn sqlite_keeps_the_last_messages_of_the_current_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let rooms = FixedRooms {
            start: 0,
            count: 10,
        };
        {
            let mut s = Sqlite::open(&path, 3, Duration::from_secs(1)).unwrap();
            assert!(s.load(rooms).unwrap().is_empty());
            let batch: Vec<_> = (1..=5).map(|n| record(1, 7, n)).collect();
            s.write(&batch).unwrap();
            s.write(&[record(2, 8, 1), record(2, 9, 1), record(2, 9, 2)])
                .unwrap();
            s.write(&[record(50, 3, 1)]).unwrap();
            s.write(&[record(3, 4, 1), HistoryWrite::Forget { room: 3 }])
                .unwrap();
        }
        let mut s = Sqlite::open(&path, 3, Duration::from_secs(1)).unwrap();
        let logs = s.load(rooms).unwrap();
        let summary: Vec<(i32, u64, u64, Vec<u64>)> = logs
            .iter()
            .map(|l| {
                let seqs = l.entries.iter().map(|e| e.0).collect();
                (l.room, l.epoch, l.last_seq, seqs)
            })
            .collect();
        assert_eq!(
            summary,
            vec![(1, 7, 5, vec![3, 4, 5]), (2, 9, 2, vec![1, 2])]
        );
        // Room 50 is not a fixed room: deleted.
        let n: i64 = s
            .conn
            .query_row(
                "SELECT COUNT(*) FROM chat_history WHERE room = 50",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }
}
