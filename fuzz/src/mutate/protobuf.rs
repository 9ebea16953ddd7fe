//! Mutations of protobuf messages (ONNX files): the bytes parsed into a tree of fields, a field
//! removed, repeated, swapped or replaced, and written back.

use crate::rng::Rng;

/// A protobuf field: its tag as written, and its value, opened up when it parses as a message.
#[derive(Debug, Clone)]
pub(super) struct Field {
    tag: Vec<u8>,
    wire: u8,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// The value as written (a length-delimited one with its length prefix).
    Raw(Vec<u8>),
    /// A length-delimited value that parses as a message; its length is rewritten on encoding,
    /// so that edits inside keep the enclosing messages readable.
    Message(Vec<Field>),
}

/// How deep nested messages are opened up.
const MAX_NESTING: usize = 12;

/// Varint values for counts, dims, data types and enums: small, huge and negative (as int64).
#[rustfmt::skip]
const VARINTS: &[u64] = &[
    0, 1, 2, 3, 7, 16, 255, 65_536, 1 << 31, 1 << 32, 1 << 40, 0x7FFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFE, 0xFFFF_FFFF_FFFF_FFFF,
];

fn read_varint(bytes: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut value = 0;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(at)?;
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
    }
    None
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The fields of `bytes`, or `None` when they are not a whole message.
pub(super) fn parse_message(bytes: &[u8], depth: usize) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (tag, value) = read_varint(bytes, at)?;
        if tag >> 3 == 0 {
            return None;
        }
        let wire = (tag & 7) as u8;
        let (payload, end) = match wire {
            0 => (value, read_varint(bytes, value)?.1),
            1 => (value, value + 8),
            2 => {
                let (length, payload) = read_varint(bytes, value)?;
                (payload, payload.checked_add(usize::try_from(length).ok()?)?)
            }
            5 => (value, value + 4),
            _ => return None,
        };
        let raw = bytes.get(value..end)?;
        let nested = if wire == 2 && depth < MAX_NESTING {
            parse_message(&bytes[payload..end], depth + 1)
        } else {
            None
        };
        let body = match nested {
            Some(fields) => Body::Message(fields),
            None => Body::Raw(raw.to_vec()),
        };
        fields.push(Field {
            tag: bytes[at..value].to_vec(),
            wire,
            body,
        });
        at = end;
    }
    Some(fields)
}

pub(super) fn encode(fields: &[Field], out: &mut Vec<u8>) {
    for field in fields {
        out.extend_from_slice(&field.tag);
        match &field.body {
            Body::Raw(bytes) => out.extend_from_slice(bytes),
            Body::Message(inner) => {
                let mut payload = Vec::new();
                encode(inner, &mut payload);
                write_varint(payload.len() as u64, out);
                out.extend_from_slice(&payload);
            }
        }
    }
}

/// The payload of a length-delimited field, without its length prefix.
fn payload_of(body: &Body) -> Vec<u8> {
    match body {
        Body::Message(fields) => {
            let mut payload = Vec::new();
            encode(fields, &mut payload);
            payload
        }
        Body::Raw(bytes) => {
            let start = read_varint(bytes, 0).map_or(0, |(_, at)| at);
            bytes[start..].to_vec()
        }
    }
}

/// The path (field indices) to every message in the tree, the root's (empty) included.
pub(super) fn message_paths(fields: &[Field], path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    out.push(path.clone());
    for (i, field) in fields.iter().enumerate() {
        if let Body::Message(inner) = &field.body {
            path.push(i);
            message_paths(inner, path, out);
            path.pop();
        }
    }
}

fn message_at<'a>(fields: &'a mut Vec<Field>, path: &[usize]) -> Option<&'a mut Vec<Field>> {
    match path.split_first() {
        None => Some(fields),
        Some((&first, rest)) => match &mut fields.get_mut(first)?.body {
            Body::Message(inner) => message_at(inner, rest),
            Body::Raw(_) => None,
        },
    }
}

/// A random field at any depth of the message `bytes`.
fn random_field(bytes: &[u8], rng: &mut Rng) -> Option<Field> {
    let mut root = parse_message(bytes, 0)?;
    let mut paths = Vec::new();
    message_paths(&root, &mut Vec::new(), &mut paths);
    let path = rng.pick(&paths)?.clone();
    let message = message_at(&mut root, &path)?;
    rng.pick(message.as_slice()).cloned()
}

/// Edits one message of the tree (delete, repeat or swap fields, splice in a field of another
/// seed, change a varint, or make a length prefix lie), then writes the tree back with every
/// enclosing length recomputed.
pub(super) fn protobuf_mutation(input: &mut Vec<u8>, others: &[&[u8]], rng: &mut Rng) -> bool {
    let Some(mut root) = parse_message(input, 0) else {
        return false;
    };
    let op = rng.below(6);
    let donor = if op == 3 {
        rng.pick(others).and_then(|other| random_field(other, rng))
    } else {
        None
    };
    let mut paths = Vec::new();
    message_paths(&root, &mut Vec::new(), &mut paths);
    let Some(path) = rng.pick(&paths) else {
        return false;
    };
    let Some(message) = message_at(&mut root, path) else {
        return false;
    };
    let n = message.len();
    match op {
        0 if n > 0 => {
            message.remove(rng.below(n));
        }
        1 if n > 0 => {
            // A repeated field: many more nodes, dims, initializers than the graph had.
            let field = message[rng.below(n)].clone();
            let count = rng.choose(&[1_usize, 1, 2, 1_000]);
            let at = rng.below(n + 1);
            message.splice(at..at, std::iter::repeat_n(field, count));
        }
        2 if n > 1 => {
            let (a, b) = (rng.below(n), rng.below(n));
            message.swap(a, b);
        }
        3 => {
            let Some(field) = donor else {
                return false;
            };
            message.insert(rng.below(n + 1), field);
        }
        4 | 5 if n > 0 => {
            let random = rng.below(64) as u64;
            let field = &mut message[rng.below(n)];
            let mut bytes = Vec::new();
            match field.wire {
                0 => {
                    let value = if rng.chance(3) {
                        random
                    } else {
                        rng.choose(VARINTS)
                    };
                    write_varint(value, &mut bytes);
                }
                2 => {
                    let payload = payload_of(&field.body);
                    let len = payload.len() as u64;
                    let lie = rng.choose(&[
                        len + 1,
                        len + 1_000,
                        len.saturating_sub(1),
                        1 << 31,
                        u64::from(u32::MAX),
                        1 << 62,
                        u64::MAX,
                    ]);
                    write_varint(lie, &mut bytes);
                    bytes.extend_from_slice(&payload);
                }
                _ => return false,
            }
            field.body = Body::Raw(bytes);
        }
        _ => return false,
    }
    input.clear();
    encode(&root, input);
    true
}
