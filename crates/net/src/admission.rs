//! Admission of accepted connections: the global `max_sessions` bound and
//! the per-address bound `max_sessions_per_ip`, shared by all I/O threads.
//!
//! Touched once per accept and once per release, never per frame. The
//! per-address counts live in one mutex-guarded map holding only addresses
//! with a session open, so it is bounded by `max_sessions`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The group a peer address counts in for per-address limits: an IPv4
/// address as is (also when IPv4-mapped into IPv6), an IPv6 address by its
/// /64 prefix (one host usually holds a whole /64).
pub fn peer_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `max_sessions` sessions are open.
    Full,
    /// Its address group has `max_sessions_per_ip` sessions open.
    PerIp,
}

/// The admission counters.
#[derive(Debug)]
pub(crate) struct Admission {
    open: AtomicUsize,
    max_sessions: usize,
    /// 0: no per-address bound.
    max_per_ip: usize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

impl Admission {
    pub(crate) fn new(max_sessions: usize, max_per_ip: usize) -> Admission {
        Admission {
            open: AtomicUsize::new(0),
            max_sessions,
            max_per_ip,
            per_ip: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves room for one more session from `peer`.
    pub(crate) fn admit(&self, peer: IpAddr) -> Result<(), Refusal> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.max_sessions {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::Full);
        }
        if self.max_per_ip > 0 {
            // Every update is one map operation: a poisoned map is consistent.
            let mut per_ip = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
            let count = per_ip.entry(peer_group(peer)).or_insert(0);
            if *count >= self.max_per_ip {
                drop(per_ip);
                self.open.fetch_sub(1, Ordering::AcqRel);
                return Err(Refusal::PerIp);
            }
            *count += 1;
        }
        Ok(())
    }

    /// Gives back what [`Admission::admit`] reserved for `peer`.
    pub(crate) fn release(&self, peer: IpAddr) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        if self.max_per_ip > 0 {
            let mut per_ip = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
            let group = peer_group(peer);
            if let Some(count) = per_ip.get_mut(&group) {
                *count -= 1;
                if *count == 0 {
                    per_ip.remove(&group);
                }
            }
        }
    }

    /// Sessions admitted and not released.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    #[cfg(test)]
    fn groups(&self) -> usize {
        self.per_ip
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn groups_ipv6_by_64_and_unmaps_ipv4() {
        assert_eq!(peer_group(ip("10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(peer_group(ip("::ffff:10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(peer_group(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            peer_group(ip("2001:db8:1:2:bbbb::9")),
            peer_group(ip("2001:db8:1:2:cccc::1"))
        );
    }

    #[test]
    fn bounds_sessions_globally_and_per_address() {
        let a = Admission::new(5, 2);
        assert_eq!(a.admit(ip("1.1.1.1")), Ok(()));
        assert_eq!(a.admit(ip("1.1.1.1")), Ok(()));
        assert_eq!(a.admit(ip("1.1.1.1")), Err(Refusal::PerIp));
        assert_eq!(a.admit(ip("::ffff:1.1.1.1")), Err(Refusal::PerIp));
        assert_eq!(a.admit(ip("2.2.2.2")), Ok(()));
        assert_eq!(a.admit(ip("3.3.3.3")), Ok(()));
        assert_eq!(a.admit(ip("4.4.4.4")), Ok(()));
        assert_eq!(a.admit(ip("5.5.5.5")), Err(Refusal::Full));
        assert_eq!(a.open(), 5);
        a.release(ip("1.1.1.1"));
        assert_eq!(a.admit(ip("1.1.1.1")), Ok(()));
        for p in ["1.1.1.1", "1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"] {
            a.release(ip(p));
        }
        assert_eq!(a.open(), 0);
        assert_eq!(a.groups(), 0, "no entry outlives its sessions");
    }

    #[test]
    fn zero_means_no_per_address_bound() {
        let a = Admission::new(3, 0);
        for _ in 0..3 {
            assert_eq!(a.admit(ip("1.1.1.1")), Ok(()));
        }
        assert_eq!(a.admit(ip("1.1.1.1")), Err(Refusal::Full));
        assert_eq!(a.groups(), 0);
    }
}
