//! Claiming a dropped socket's session for this node (one node wins), and reading the packets it
//! missed from the log.

use std::sync::Arc;

use tokio::time::Instant;

use super::{RecoveryStore, SessionRecord, CLAIM_PATIENCE, CLAIM_RETRY, MAX_REPLAY};
use crate::cluster::heartbeat::{LUA_NOW, NODE_TTL};
use crate::cluster::wire::WireBroadcast;
use crate::socketio::{BroadcastOptions, Claim, LoggedPacket, Parser, Room};

/// Longest private id looked up (ours are UUIDs).
const MAX_PID_LEN: usize = 64;

/// Hands out the record at KEYS[1] (deleting it) if it is detached, or if its node (heartbeats at
/// KEYS[2]) is dead and died within the window; `live` while its node is alive.
/// ARGV: node TTL (ms), window (ms).
const CLAIM_SCRIPT: &str = "
local raw = redis.call('GET', KEYS[1])
if not raw then return {'gone'} end
local ok, record = pcall(cjson.decode, raw)
if not ok or type(record) ~= 'table' then redis.call('DEL', KEYS[1]) return {'gone'} end
if not record.detached then
  NOW
  local seen = redis.call('ZSCORE', KEYS[2], tostring(record.node))
  seen = seen and tonumber(seen) or 0
  if seen > now - tonumber(ARGV[1]) then return {'live'} end
  if seen < now - tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return {'gone'} end
end
redis.call('DEL', KEYS[1])
return {'claimed', raw}
";

impl RecoveryStore {
    /// Claims the session of `pid` for this node.
    pub(in crate::cluster) async fn claim(&self, pid: &str) -> Claim {
        if pid.is_empty()
            || pid.len() > MAX_PID_LEN
            || !pid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            tracing::info!("recovery refused: malformed pid");
            return Claim::Refused;
        }
        let script = CLAIM_SCRIPT.replace("NOW", LUA_NOW);
        let deadline = Instant::now() + CLAIM_PATIENCE;
        loop {
            let answer = match self.link.connection().await {
                Ok(mut connection) => self.link.check(
                    redis::cmd("EVAL")
                        .arg(&script)
                        .arg(2)
                        .arg(self.keys.session(pid))
                        .arg(&self.keys.nodes)
                        .arg(NODE_TTL.as_millis() as u64)
                        .arg(self.window.as_millis() as u64)
                        .query_async::<Vec<String>>(&mut connection)
                        .await,
                ),
                Err(error) => Err(error),
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) => {
                    tracing::warn!(%error, "recovery store unreachable: only kept sockets recover");
                    return Claim::Unavailable;
                }
            };
            match answer.first().map(String::as_str) {
                Some("claimed") => {
                    let record = answer
                        .get(1)
                        .map(|raw| serde_json::from_str::<SessionRecord>(raw));
                    return match record {
                        Some(Ok(record)) => Claim::Claimed(record.into_claimed()),
                        _ => {
                            tracing::warn!("unreadable session record dropped");
                            Claim::Refused
                        }
                    };
                }
                Some("live") if Instant::now() < deadline => {
                    tokio::time::sleep(CLAIM_RETRY).await;
                }
                _ => return Claim::Refused,
            }
        }
    }

    /// The packets of namespace `nsp` logged from `offset` on (its own entry first), with their
    /// offsets appended, or `None` when the log does not hold `offset` or holds more than
    /// [`MAX_REPLAY`] after it.
    pub(in crate::cluster) async fn read_from(
        &self,
        nsp: &str,
        offset: &str,
        parser: Parser,
    ) -> Option<Vec<LoggedPacket>> {
        if !is_entry_id(offset) {
            return None;
        }
        let mut connection = self.link.connection().await.ok()?;
        let entries = self.link.check(
            redis::cmd("XRANGE")
                .arg(&self.keys.log)
                .arg(offset)
                .arg("+")
                .arg("COUNT")
                .arg(MAX_REPLAY + 1)
                .query_async::<Vec<(String, Vec<Vec<u8>>)>>(&mut connection)
                .await,
        );
        let entries = match entries {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(%error, "recovery log unreadable");
                return None;
            }
        };
        if entries.first().map(|(id, _)| id.as_str()) != Some(offset) || entries.len() > MAX_REPLAY
        {
            return None;
        }
        let packets = entries
            .into_iter()
            .filter_map(|(id, fields)| logged_packet(nsp, id, &fields, parser))
            .collect();
        Some(packets)
    }
}

/// Is `offset` a stream entry id (`<ms>-<seq>`)?
fn is_entry_id(offset: &str) -> bool {
    let Some((ms, seq)) = offset.split_once('-') else {
        return false;
    };
    [ms, seq].iter().all(|part| {
        !part.is_empty() && part.len() <= 20 && part.bytes().all(|b| b.is_ascii_digit())
    })
}

/// One log entry (`n`, `m` fields) as a packet of `nsp`, or `None` for another namespace or an
/// unreadable entry.
fn logged_packet(
    nsp: &str,
    id: String,
    fields: &[Vec<u8>],
    parser: Parser,
) -> Option<LoggedPacket> {
    let mut namespace = None;
    let mut message = None;
    for pair in fields.chunks(2) {
        match pair {
            [name, value] if name == b"n" => namespace = Some(value),
            [name, value] if name == b"m" => message = Some(value),
            _ => {}
        }
    }
    if namespace?.as_slice() != nsp.as_bytes() {
        return None;
    }
    let message = WireBroadcast::decode(message?).ok()?;
    let send = message.send_options();
    let WireBroadcast {
        mut packet,
        rooms,
        except,
        ..
    } = message;
    packet.push_arg(&id);
    let frames = parser.shared_frames(&packet.into_event()?);
    Some(LoggedPacket {
        offset: Arc::from(id),
        frames,
        options: BroadcastOptions {
            rooms: rooms.into_iter().map(Room::from).collect(),
            except_rooms: except.into_iter().map(Room::from).collect(),
            send,
            ..BroadcastOptions::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stream_ids_are_looked_up() {
        assert!(is_entry_id("1712345678901-0"));
        assert!(!is_entry_id("abcdef01-1f"));
        assert!(!is_entry_id("-1"));
        assert!(!is_entry_id("1-"));
        assert!(!is_entry_id("+"));
    }
}
