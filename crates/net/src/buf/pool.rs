//! A small free list of reusable buffers, one per I/O thread (no locking).
//!
//! Sessions take a buffer only while they have bytes pending (a partial
//! frame, queued sends) and give it back when it empties, so an idle session
//! holds no buffer. The pool keeps at most `max_pooled` buffers; buffers that
//! grew past `max_keep_capacity` are freed rather than kept.

/// Something a pool can reset and measure.
pub(crate) trait Reusable: Default {
    fn reset(&mut self);
    fn capacity_bytes(&self) -> usize;
}

impl Reusable for Vec<u8> {
    fn reset(&mut self) {
        self.clear();
    }

    fn capacity_bytes(&self) -> usize {
        self.capacity()
    }
}

pub(crate) struct Pool<T: Reusable> {
    free: Vec<T>,
    max_pooled: usize,
    max_keep_capacity: usize,
}

impl<T: Reusable> Pool<T> {
    pub(crate) fn new(max_pooled: usize, max_keep_capacity: usize) -> Self {
        Pool {
            free: Vec::with_capacity(max_pooled.min(4096)),
            max_pooled,
            max_keep_capacity,
        }
    }

    pub(crate) fn take(&mut self) -> T {
        self.free.pop().unwrap_or_default()
    }

    pub(crate) fn give(&mut self, mut item: T) {
        if self.free.len() < self.max_pooled && item.capacity_bytes() <= self.max_keep_capacity {
            item.reset();
            self.free.push(item);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_and_bounds() {
        let mut pool: Pool<Vec<u8>> = Pool::new(2, 1024);
        let mut a = pool.take();
        a.extend_from_slice(b"hello");
        let cap = a.capacity();
        pool.give(a);
        let b = pool.take();
        assert!(b.is_empty());
        assert_eq!(b.capacity(), cap, "buffer was reused");
        pool.give(b);
        pool.give(vec![0; 10]);
        pool.give(vec![0; 10]);
        assert_eq!(pool.len(), 2, "never more than max_pooled");
        let mut p2: Pool<Vec<u8>> = Pool::new(4, 16);
        p2.give(vec![0; 100]);
        assert_eq!(p2.len(), 0, "oversized buffers are freed");
    }
}
