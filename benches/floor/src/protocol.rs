//! Just enough Engine.IO v4 / Socket.IO v5 text for the loadgen, with plain string operations and
//! serde_json's [`RawValue`] (which finds where each argument starts and ends without building it).

use serde_json::value::RawValue;

/// What a client's text message asks for.
#[derive(Debug)]
pub enum Packet<'a> {
    /// Engine.IO pong `3`.
    Pong,
    /// Engine.IO close `1`, or Socket.IO disconnect `41`.
    Close,
    /// Socket.IO CONNECT to the main namespace: `40`, with an optional auth object.
    Connect,
    /// Socket.IO CONNECT to another namespace (`40/nsp,…`), which the floor does not serve.
    ConnectOther(&'a str),
    /// Socket.IO EVENT to the main namespace: `42[<ack id>]["name",args…]`.
    Event {
        ack: Option<u64>,
        /// The JSON text of the event name, quotes included.
        name: &'a str,
        args: Vec<&'a RawValue>,
    },
    /// Anything else, ignored.
    Other,
}

/// Reads one text message.
pub fn parse(text: &str) -> Packet<'_> {
    match text {
        "3" => return Packet::Pong,
        "1" | "41" => return Packet::Close,
        _ => {}
    }
    if let Some(rest) = text.strip_prefix("40") {
        return match rest.strip_prefix('/') {
            Some(nsp) => Packet::ConnectOther(nsp.split(',').next().unwrap_or(nsp)),
            None => Packet::Connect,
        };
    }
    let Some(rest) = text.strip_prefix("42") else {
        return Packet::Other;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let ack = match digits {
        0 => None,
        1..=19 => match rest[..digits].parse() {
            Ok(id) => Some(id),
            Err(_) => return Packet::Other,
        },
        _ => return Packet::Other,
    };
    let Ok(mut args) = serde_json::from_str::<Vec<&RawValue>>(&rest[digits..]) else {
        return Packet::Other;
    };
    if args.is_empty() {
        return Packet::Other;
    }
    let name = args.remove(0).get();
    Packet::Event { ack, name, args }
}

/// A JSON array of `args`: `[a,b,…]`, appended to `out`.
pub fn push_array(out: &mut String, args: &[&RawValue]) {
    out.push('[');
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(arg.get());
    }
    out.push(']');
}

/// The room a `join` or `broadcast` names: a JSON string's value, or the JSON text of anything else
/// (as Node's `String(room)` gives for numbers).
pub fn room(arg: &RawValue) -> String {
    serde_json::from_str::<String>(arg.get()).unwrap_or_else(|_| arg.get().to_owned())
}

/// The `msg` event a broadcast delivers: `42["msg",args…]`.
pub fn msg_frame(args: &[&RawValue]) -> String {
    let mut out = String::with_capacity(10 + args.iter().map(|a| a.get().len() + 1).sum::<usize>());
    out.push_str("42[\"msg\"");
    for arg in args {
        out.push(',');
        out.push_str(arg.get());
    }
    out.push(']');
    out
}

/// An ack with `args`: `43<id>[args…]`.
pub fn ack_frame(id: u64, args: &[&RawValue]) -> String {
    let mut out = format!("43{id}");
    push_array(&mut out, args);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(args: &[&RawValue]) -> Vec<String> {
        args.iter().map(|a| a.get().to_owned()).collect()
    }

    #[test]
    fn parses_control_packets() {
        assert!(matches!(parse("3"), Packet::Pong));
        assert!(matches!(parse("1"), Packet::Close));
        assert!(matches!(parse("41"), Packet::Close));
        assert!(matches!(parse("40"), Packet::Connect));
        assert!(matches!(parse(r#"40{"token":"x"}"#), Packet::Connect));
        assert!(matches!(parse("40/admin,"), Packet::ConnectOther("admin")));
        assert!(matches!(parse("5"), Packet::Other));
        assert!(matches!(parse("42[]"), Packet::Other));
        assert!(matches!(parse("42[oops"), Packet::Other));
    }

    #[test]
    fn parses_events_and_builds_frames() {
        let Packet::Event { ack, name, args } = parse(r#"427["echo",7,"x\"y",[1,{"a":2}]]"#) else {
            panic!("not an event");
        };
        assert_eq!((ack, name), (Some(7), r#""echo""#));
        assert_eq!(texts(&args), ["7", r#""x\"y""#, r#"[1,{"a":2}]"#]);
        assert_eq!(ack_frame(7, &args), r#"437[7,"x\"y",[1,{"a":2}]]"#);
        assert_eq!(ack_frame(3, &[]), "433[]");

        let Packet::Event { ack, name, args } = parse(r#"42["broadcast","bench",[1,2,"xx"]]"#)
        else {
            panic!("not an event");
        };
        assert_eq!((ack, name), (None, r#""broadcast""#));
        assert_eq!(room(args[0]), "bench");
        assert_eq!(msg_frame(&args[1..]), r#"42["msg",[1,2,"xx"]]"#);
        assert_eq!(msg_frame(&[]), r#"42["msg"]"#);
    }

    #[test]
    fn rooms_of_other_types_are_their_json_text() {
        let args = serde_json::from_str::<Vec<&RawValue>>(r#"[5,"a\u0062"]"#).expect("valid JSON");
        assert_eq!(room(args[0]), "5");
        assert_eq!(room(args[1]), "ab");
    }
}
