//! [`HashGate`]: password hashing (Argon2, ~19 MiB and tens of milliseconds each) on a bounded
//! number of blocking threads, with a bounded queue in front, so a burst of registrations or
//! logins cannot take the server's memory or every blocking thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Hashes that may wait for a worker, per worker; past that, callers are told to come back.
pub const QUEUE_PER_WORKER: usize = 4;

/// What a caller refused by a full queue is told to wait (`Retry-After`): one hash takes well
/// under a second, so a full queue drains within about this long.
pub const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why a hash was not computed.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Every worker is busy and the queue is full.
    #[error("password hashing is busy")]
    Busy,
    /// The blocking task died.
    #[error("the hashing task failed")]
    Failed,
}

/// Runs hashing work on at most `workers` blocking threads at once, with at most
/// `workers × QUEUE_PER_WORKER` more callers waiting.
#[derive(Clone)]
pub struct HashGate {
    /// Admitted callers (running or waiting).
    admitted: Arc<Semaphore>,
    /// Callers running a hash.
    running: Arc<Semaphore>,
    /// Hashes computed (for tests and the metric).
    computed: Arc<AtomicU64>,
}

impl HashGate {
    /// A gate for `workers` parallel hashes; 0 means one per core
    /// ([`std::thread::available_parallelism`]).
    pub fn new(workers: usize) -> HashGate {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            workers
        };
        HashGate {
            admitted: Arc::new(Semaphore::new(workers * (1 + QUEUE_PER_WORKER))),
            running: Arc::new(Semaphore::new(workers)),
            computed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Runs `work` (one hash or verification) on a blocking thread when a worker is free;
    /// [`GateError::Busy`] at once if the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, GateError> {
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| GateError::Busy)?;
        let running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            // The semaphore is never closed.
            .map_err(|_| GateError::Failed)?;
        let computed = Arc::clone(&self.computed);
        actix_web::rt::task::spawn_blocking(move || {
            // The permits live as long as the work, even if the caller went away meanwhile.
            let _permits = (admitted, running);
            computed.fetch_add(1, Ordering::Relaxed);
            crate::metrics::get().password_hashes.inc();
            work()
        })
        .await
        .map_err(|_| GateError::Failed)
    }

    /// How many hashes this gate has computed.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn a_full_queue_refuses_at_once() {
        let gate = HashGate::new(1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(std::sync::Mutex::new(wait));
        let mut running = Vec::new();
        for _ in 0..1 + QUEUE_PER_WORKER {
            let (gate, wait) = (gate.clone(), Arc::clone(&wait));
            running.push(actix_rt::spawn(async move {
                gate.run(move || {
                    let _ = wait.lock().map(|w| w.recv());
                })
                .await
            }));
        }
        // Let every spawned caller take its place in the queue.
        for _ in 0..50 {
            if gate.admitted.available_permits() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(gate.admitted.available_permits(), 0);
        assert!(matches!(gate.run(|| ()).await, Err(GateError::Busy)));
        for _ in 0..1 + QUEUE_PER_WORKER {
            release.send(()).expect("a worker waits");
        }
        for task in running {
            assert!(task.await.expect("joined").is_ok());
        }
        assert_eq!(gate.computed(), 1 + QUEUE_PER_WORKER as u64);
        assert!(gate.run(|| ()).await.is_ok(), "room again");
    }
}
