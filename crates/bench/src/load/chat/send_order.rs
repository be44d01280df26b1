//! [`SendOrder`] and [`Rotation`]: which member sends the next message of a
//! `chat` load.
//!
//! The load is a sequence of messages `g = 0, 1, 2, …` at a fixed rate;
//! every member sends once per round of `n` messages (`n` members), so a
//! member's messages are numbered `seq = g / n` and gaps are detectable.
//! The order *within* a round is what this module decides, and it matters:
//! a server whose cost per delivery depends on messages of one room arriving
//! back to back (they coalesce behind the send in flight) looks far better
//! on the grouped order than it is.

use rand::seq::SliceRandom;
use rand::SeedableRng;

/// The order in which members send within each round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SendOrder {
    /// One seeded random order of all members, across rooms (realistic:
    /// messages arrive from any room in any order). The default.
    Random,
    /// Room by room in turn: consecutive messages always come from
    /// different rooms (the least coalescing).
    Rotate,
    /// Member 0, 1, 2, …: all members of a room, then the next room, so a
    /// room's messages arrive back to back (the most coalescing; the order
    /// of the figures published before `--order` existed).
    Grouped,
}

/// The order of one load: position in a round ↔ member.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// Position in the round → member.
    sender_at: Vec<u32>,
    /// Member → position in the round.
    position_of: Vec<u32>,
}

impl Rotation {
    /// The order `order` of `rooms × members` members (numbered room by
    /// room); `seed` drives [`SendOrder::Random`].
    pub fn new(order: SendOrder, rooms: u32, members: u32, seed: u64) -> Rotation {
        let n = rooms as usize * members as usize;
        let mut sender_at: Vec<u32> = match order {
            SendOrder::Grouped | SendOrder::Random => (0..n as u32).collect(),
            SendOrder::Rotate => (0..n as u32)
                .map(|p| (p % rooms) * members + p / rooms)
                .collect(),
        };
        if order == SendOrder::Random {
            let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
            sender_at.shuffle(&mut rng);
        }
        let mut position_of = vec![0; n];
        for (p, &m) in sender_at.iter().enumerate() {
            position_of[m as usize] = p as u32;
        }
        Rotation {
            sender_at,
            position_of,
        }
    }

    /// The member that sends message `g`.
    pub fn sender(&self, g: u64) -> u64 {
        let n = self.sender_at.len() as u64;
        u64::from(self.sender_at[(g % n) as usize])
    }

    /// The message number of `member`'s `seq`-th message.
    pub fn message(&self, member: u64, seq: u64) -> Option<u64> {
        let n = self.sender_at.len() as u64;
        let p = u64::from(*self.position_of.get(member as usize)?);
        seq.checked_mul(n)?.checked_add(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(order: SendOrder) -> Vec<u64> {
        let r = Rotation::new(order, 3, 4, 7);
        (0..12).map(|g| r.sender(g)).collect()
    }

    #[test]
    fn every_member_sends_once_per_round_and_maps_back() {
        for order in [SendOrder::Random, SendOrder::Rotate, SendOrder::Grouped] {
            let r = Rotation::new(order, 3, 4, 7);
            let mut seen = round(order);
            seen.sort_unstable();
            assert_eq!(seen, (0..12).collect::<Vec<_>>(), "{order:?}");
            for g in 0..48 {
                assert_eq!(r.message(r.sender(g), g / 12), Some(g), "{order:?} {g}");
            }
        }
    }

    #[test]
    fn orders_interleave_rooms_as_named() {
        assert_eq!(round(SendOrder::Grouped), (0..12).collect::<Vec<_>>());
        // Rotate: room 0, 1, 2, then the next member of each.
        assert_eq!(&round(SendOrder::Rotate)[..6], [0, 4, 8, 1, 5, 9]);
        let random = round(SendOrder::Random);
        assert_ne!(random, round(SendOrder::Grouped));
        assert_eq!(random, round(SendOrder::Random), "seeded: reproducible");
        assert_ne!(
            Rotation::new(SendOrder::Random, 3, 4, 8).sender_at,
            Rotation::new(SendOrder::Random, 3, 4, 7).sender_at
        );
    }
}
