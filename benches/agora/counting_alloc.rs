//! A counting global allocator for the bench server's `--count-allocations`: the system allocator,
//! plus two counters (live bytes, live allocations) kept only once counting is switched on, so
//! where an idle connection's bytes go can be told from its heap, not only its RSS.
//!
//! The counters are signed: blocks allocated before counting started and freed after it make them
//! go down, so only differences between two readings mean something.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator, counting when [`start`] has been called.
pub struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCATIONS: AtomicIsize = AtomicIsize::new(0);

/// Switches counting on (it costs two atomic additions per allocation and per free).
pub fn start() {
    COUNTING.store(true, Ordering::Relaxed);
}

/// Live bytes and live allocations counted since [`start`].
pub fn live() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_ALLOCATIONS.load(Ordering::Relaxed),
    )
}

fn count(bytes: isize, allocations: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed);
        LIVE_ALLOCATIONS.fetch_add(allocations, Ordering::Relaxed);
    }
}

// SAFETY: every call goes to `System` unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = System.alloc(layout);
        if !block.is_null() {
            count(layout.size() as isize, 1);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = System.alloc_zeroed(layout);
        if !block.is_null() {
            count(layout.size() as isize, 1);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        System.dealloc(block, layout);
        count(-(layout.size() as isize), -1);
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = System.realloc(block, layout, new_size);
        if !moved.is_null() {
            count(new_size as isize - layout.size() as isize, 0);
        }
        moved
    }
}
