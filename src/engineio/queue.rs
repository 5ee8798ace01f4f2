//! The outgoing queue of a polling session: frames waiting for the client's next GET, counted
//! in frames and in bytes so that a client that stops reading is noticed either way.

use std::collections::VecDeque;

use super::packet::Frame;

/// Frames waiting for the next GET, with their total size.
#[derive(Default)]
pub(super) struct OutQueue {
    frames: VecDeque<Frame>,
    bytes: usize,
}

/// Adding frames would pass one of the queue's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the outgoing queue is full")]
pub(super) struct QueueFull;

impl OutQueue {
    /// True when nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Appends frames unless the queue would then hold more than `max_frames` frames, or more than
    /// `max_bytes` bytes (a lone frame larger than that still goes into an empty queue, so that a
    /// low byte bound never makes a big message undeliverable).
    pub(super) fn push(
        &mut self,
        frames: &[Frame],
        max_frames: usize,
        max_bytes: usize,
    ) -> Result<(), QueueFull> {
        let bytes: usize = frames.iter().map(Frame::len).sum();
        let too_many = self.frames.len() + frames.len() > max_frames;
        let too_big = !self.frames.is_empty() && self.bytes + bytes > max_bytes;
        if too_many || too_big {
            return Err(QueueFull);
        }
        self.frames.extend(frames.iter().cloned());
        self.bytes += bytes;
        Ok(())
    }

    /// Appends frames whatever the bounds (the last frames of a closing session).
    pub(super) fn extend(&mut self, frames: impl IntoIterator<Item = Frame>) {
        for frame in frames {
            self.bytes += frame.len();
            self.frames.push_back(frame);
        }
    }

    /// Puts frames back in front, in order (a GET that went away before taking them).
    pub(super) fn put_back(&mut self, frames: Vec<Frame>) {
        for frame in frames.into_iter().rev() {
            self.bytes += frame.len();
            self.frames.push_front(frame);
        }
    }

    /// Empties the queue.
    pub(super) fn take(&mut self) -> Vec<Frame> {
        self.bytes = 0;
        self.frames.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_frames_and_in_bytes() {
        let frame = Frame::text_message("x".repeat(99).as_str());
        let size = frame.len();
        let mut queue = OutQueue::default();
        let one = std::slice::from_ref(&frame);
        // A lone frame bigger than the byte bound goes into an empty queue...
        assert_eq!(queue.push(one, 10, size - 1), Ok(()));
        // ...but not behind another.
        assert_eq!(queue.push(one, 10, size - 1), Err(QueueFull));
        queue.take();
        assert_eq!(
            queue.push(&[frame.clone(), frame.clone()], 10, 2 * size),
            Ok(())
        );
        assert_eq!(queue.push(one, 10, 2 * size), Err(QueueFull));
        let taken = queue.take();
        queue.put_back(taken);
        assert_eq!(queue.push(one, 2, usize::MAX), Err(QueueFull));
        assert_eq!(queue.take().len(), 2);
        assert!(queue.is_empty());
        assert_eq!(queue.push(one, 10, size), Ok(()), "bytes reset by take");
    }
}
