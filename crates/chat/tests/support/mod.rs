//! A recording host for the machine tests that drive `Chat` directly
//! (cluster and history storage): every `Outbound` call kept, in order.
#![allow(dead_code)]

use bytes::Bytes;
use ringport_chat::{AuthRequest, ClusterRequest, ConnId, HistoryWrite, Outbound};

/// Everything the machine asked of its host.
#[derive(Default)]
pub struct Host {
    /// Packets sent, with their recipient.
    pub sent: Vec<(ConnId, Vec<u8>)>,
    /// Password and token checks asked.
    pub auth: Vec<AuthRequest>,
    /// Cluster work asked.
    pub cluster: Vec<ClusterRequest>,
    /// History writes handed over.
    pub history: Vec<HistoryWrite>,
    /// pause_reading (true) and resume_reading (false), in order.
    pub reading: Vec<(ConnId, bool)>,
}

impl Host {
    /// The packets sent to `conn` since the last call, in order.
    pub fn take_packets(&mut self, conn: ConnId) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        self.sent.retain(|(c, p)| {
            if *c != conn {
                return true;
            }
            got.push(p.clone());
            false
        });
        got
    }
}

impl Outbound for Host {
    fn send(&mut self, conn: ConnId, packet: &[u8]) {
        self.sent.push((conn, packet.to_vec()));
    }
    fn send_shared(&mut self, conn: ConnId, packet: &Bytes) {
        self.sent.push((conn, packet.to_vec()));
    }
    fn close(&mut self, _: ConnId) {}
    fn authenticate(&mut self, request: AuthRequest) {
        self.auth.push(request);
    }
    fn cluster(&mut self, request: ClusterRequest) {
        self.cluster.push(request);
    }
    fn history(&mut self, write: HistoryWrite) {
        self.history.push(write);
    }
    fn pause_reading(&mut self, conn: ConnId) {
        self.reading.push((conn, true));
    }
    fn resume_reading(&mut self, conn: ConnId) {
        self.reading.push((conn, false));
    }
}
