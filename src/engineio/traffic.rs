//! Counting the traffic of every session (`agora_packets_total`/`agora_bytes_total`).

use super::packet::Message;

/// Counts `packets` frames of `bytes` bytes on their way to a client
/// (`agora_packets_total`/`agora_bytes_total`, `out`).
pub(super) fn count_outbound(packets: usize, bytes: usize) {
    let outbound = &crate::metrics::get().outbound;
    outbound.packets.inc_by(packets as u64);
    outbound.bytes.inc_by(bytes as u64);
}

/// Counts a message from a client (`agora_packets_total`/`agora_bytes_total`, `in`).
pub(super) fn count_inbound(message: &Message) {
    let inbound = &crate::metrics::get().inbound;
    inbound.packets.inc();
    inbound.bytes.inc_by(message.len() as u64);
}
