//! The Redis channel names of the Node adapter.

/// The Redis channel names of one cluster (one key prefix).
#[derive(Debug, Clone)]
pub struct Channels {
    key: String,
}

/// What a channel carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind<'a> {
    /// A broadcast; the rest of the channel after `<key>#` (the namespace and maybe a room).
    Broadcast(&'a str),
    /// A request to the nodes serving this namespace.
    Request(&'a str),
    /// A response (to some node) about this namespace; the namespace may end in `#<uid>`.
    Response(&'a str),
}

impl Channels {
    /// Channels under `key` (`socket.io` for the Node adapter's default).
    pub fn new(key: &str) -> Channels {
        Channels {
            key: key.to_string(),
        }
    }

    /// `<key>#<nsp>#`, plus `<room>#` for a broadcast to exactly one room.
    pub fn broadcast(&self, nsp: &str, rooms: &[impl AsRef<str>]) -> String {
        match rooms {
            [room] => format!("{}#{nsp}#{}#", self.key, room.as_ref()),
            _ => format!("{}#{nsp}#", self.key),
        }
    }

    /// The pattern matching every broadcast channel of `nsp` (glob characters escaped).
    pub fn broadcast_pattern(&self, nsp: &str) -> String {
        let mut pattern = glob_escape(&format!("{}#{nsp}#", self.key));
        pattern.push('*');
        pattern
    }

    /// `<key>-request#<nsp>#`.
    pub fn request(&self, nsp: &str) -> String {
        format!("{}-request#{nsp}#", self.key)
    }

    /// `<key>-response#<nsp>#`: where Node nodes answer by default.
    pub fn response(&self, nsp: &str) -> String {
        format!("{}-response#{nsp}#", self.key)
    }

    /// `<key>-response#<nsp>#<uid>#`: the node-specific response channel.
    pub fn specific_response(&self, nsp: &str, uid: &str) -> String {
        format!("{}-response#{nsp}#{uid}#", self.key)
    }

    /// Which kind of channel this is, with the part after the prefix; `None` for another cluster.
    pub fn classify<'a>(&self, channel: &'a str) -> Option<ChannelKind<'a>> {
        let rest = channel.strip_prefix(self.key.as_str())?;
        if let Some(rest) = rest.strip_prefix('#') {
            Some(ChannelKind::Broadcast(rest))
        } else if let Some(rest) = rest.strip_prefix("-request#") {
            Some(ChannelKind::Request(rest.strip_suffix('#')?))
        } else if let Some(rest) = rest.strip_prefix("-response#") {
            Some(ChannelKind::Response(rest.strip_suffix('#')?))
        } else {
            None
        }
    }

    /// Does this broadcast channel (as after `<key>#`) belong to `nsp`?
    pub fn broadcast_is_for(rest: &str, nsp: &str) -> bool {
        rest.strip_prefix(nsp)
            .is_some_and(|after| after.starts_with('#'))
    }
}

/// Escapes Redis glob characters.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::wire::DEFAULT_KEY;

    #[test]
    fn channel_names_match_the_node_adapter() {
        let channels = Channels::new(DEFAULT_KEY);
        assert_eq!(channels.broadcast("/", &[] as &[&str]), "socket.io#/#");
        assert_eq!(channels.broadcast("/chat", &["r1"]), "socket.io#/chat#r1#");
        assert_eq!(channels.broadcast("/chat", &["a", "b"]), "socket.io#/chat#");
        assert_eq!(channels.broadcast_pattern("/"), "socket.io#/#*");
        assert_eq!(channels.broadcast_pattern("/a*b"), "socket.io#/a\\*b#*");
        assert_eq!(channels.request("/"), "socket.io-request#/#");
        assert_eq!(channels.response("/x"), "socket.io-response#/x#");
        assert_eq!(
            channels.specific_response("/x", "u1"),
            "socket.io-response#/x#u1#"
        );
        assert_eq!(
            channels.classify("socket.io#/chat#r1#"),
            Some(ChannelKind::Broadcast("/chat#r1#"))
        );
        assert_eq!(
            channels.classify("socket.io-request#/chat#"),
            Some(ChannelKind::Request("/chat"))
        );
        assert_eq!(
            channels.classify("socket.io-response#/chat#u1#"),
            Some(ChannelKind::Response("/chat#u1"))
        );
        assert_eq!(channels.classify("other#/chat#"), None);
        assert!(Channels::broadcast_is_for("/chat#r1#", "/chat"));
        assert!(!Channels::broadcast_is_for("/chatter#", "/chat"));
    }
}
