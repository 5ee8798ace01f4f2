//! Poison-tolerant locking, the one place that decides what a poisoned lock means.
//!
//! A lock is poisoned when a thread panicked while holding it. Every lock taken through these
//! helpers guards data that each critical section leaves consistent (one map insert or removal,
//! a timestamp, a set membership), so a panic elsewhere cannot leave it half-changed: the data is
//! used as it is rather than spreading the panic to every later user.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, taking its data as it is even if a holder panicked (see the module docs).
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Read-locks `lock`, taking its data as it is even if a writer panicked (see the module docs).
pub fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Write-locks `lock`, taking its data as it is even if a writer panicked (see the module docs).
pub fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_poisoned_mutex_is_still_usable() {
        let mutex = Arc::new(Mutex::new(1));
        let held = mutex.clone();
        let _ = std::thread::spawn(move || {
            let _guard = held.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(mutex.is_poisoned());
        *super::lock(&mutex) += 1;
        assert_eq!(*super::lock(&mutex), 2);
    }
}
