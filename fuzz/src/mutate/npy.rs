//! Mutations of `.npy` files: random headers and data, and edits of a file's header fields.

use crate::rng::Rng;

/// dtypes numpy writes (some this reader refuses) and some it never would.
#[rustfmt::skip]
const DESCRS: &[&str] = &[
    "<f4", "<f4", ">f4", "<f8", ">f8", "<f2", ">f2", "|b1", "|u1", "|i1", "<i2", ">u2", "<i4",
    ">i4", "<u4", "<i8", ">u8", "<u8", "|O", "<c8", "<f16", "<U4", "|V4", "f4", "<f3", "=f4", "<f",
];

/// What may stand between a shape's parentheses.
#[rustfmt::skip]
const SHAPES: &[&str] = &[
    "3, 4", "0, 4", "3, 0", "0, 0", "1, 4", "4,", "", "2, 2, 3", "-1, 4", "4, -1",
    "1000000000000, 4", "18446744073709551615, 4", "18446744073709551616, 4",
    "4611686018427387904, 4", "9223372036854775807, 9223372036854775807", "3, 4, ", "3 , 4",
    "3, 4.0", "3L, 4L", "0x3, 4", "3, 4, 0", "(3, 4)", "3,,4", " ",
];

const ORDERS: &[&str] = &["False", "True", "0", "None", "false", "'C'"];

/// A version 1.0 `.npy` file as numpy writes it: the header dict, padded with spaces and a
/// newline so that the data starts at a multiple of 64 bytes, then `data`. `shape` is written
/// as given, parentheses included.
pub fn npy_file(descr: &str, fortran_order: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran_order}, 'shape': {shape}, }}");
    let padded = (10 + header.len() + 1).div_ceil(64) * 64 - 10;
    while header.len() + 1 < padded {
        header.push(' ');
    }
    header.push('\n');
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    let length = u16::try_from(header.len()).unwrap_or(u16::MAX);
    file.extend_from_slice(&length.to_le_bytes());
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(data);
    file
}

/// A new file of a random dtype, order and shape, its data usually the size the shape says.
fn random_npy(rng: &mut Rng) -> Vec<u8> {
    let descr = rng.choose(DESCRS);
    let size = descr
        .get(2..)
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(4)
        .min(16);
    let (rows, cols) = (rng.below(5), rng.choose(&[4_usize, 4, 4, 0, 1, 5]));
    let shape = if rng.chance(4) {
        format!("({})", rng.choose(SHAPES))
    } else {
        format!("({rows}, {cols})")
    };
    let count = if rng.chance(8) {
        rng.below(16)
    } else {
        rows * cols
    };
    let mut data = Vec::with_capacity(count * size);
    for _ in 0..count {
        let x = if rng.chance(8) {
            rng.choose(&[f64::NAN, f64::INFINITY, -0.0, 1e39, 3.4028235e38, 1e-45])
        } else {
            (rng.below(2001) as f64 - 1000.0) / 100.0
        };
        let mut value = match (descr.as_bytes().get(1), size) {
            (Some(b'f'), 4) => (x as f32).to_le_bytes().to_vec(),
            (Some(b'f'), 8) => x.to_le_bytes().to_vec(),
            (Some(b'b'), _) => vec![rng.below(2) as u8],
            _ => (0..size).map(|_| rng.byte()).collect(),
        };
        if descr.starts_with('>') {
            value.reverse();
        }
        data.extend_from_slice(&value);
    }
    npy_file(descr, rng.choose(&["False", "True"]), &shape, &data)
}

/// The length of a version 1.0 header, through its first newline.
pub(super) fn header_length(file: &[u8]) -> u16 {
    let length = file
        .iter()
        .skip(10)
        .position(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    u16::try_from(length).unwrap_or(u16::MAX)
}

/// Replaces what lies between `prefix` and the next `suffix` byte.
fn replace_between(text: &mut Vec<u8>, prefix: &[u8], suffix: u8, with: &str) -> bool {
    let Some(found) = text.windows(prefix.len()).position(|w| w == prefix) else {
        return false;
    };
    let start = found + prefix.len();
    let Some(length) = text[start..].iter().position(|&b| b == suffix) else {
        return false;
    };
    text.splice(start..start + length, with.bytes());
    true
}

pub(super) fn npy_mutation(file: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let edited = match rng.below(6) {
        0 => replace_between(file, b"'shape': (", b')', rng.choose(SHAPES)),
        1 => replace_between(file, b"'descr': '", b'\'', rng.choose(DESCRS)),
        2 => replace_between(file, b"'fortran_order': ", b',', rng.choose(ORDERS)),
        3 if file.len() >= 10 => {
            // The header length field, left wrong.
            let actual = header_length(file);
            let random = u16::from_le_bytes([rng.byte(), rng.byte()]);
            let candidates = [
                0,
                1,
                9,
                10_000,
                10_001,
                u16::MAX,
                actual.wrapping_sub(1),
                actual.wrapping_add(1),
                random,
            ];
            let length: u16 = rng.choose(&candidates);
            file[8..10].copy_from_slice(&length.to_le_bytes());
            return true;
        }
        4 if file.len() >= 10 => {
            // Another version; 2.0 and 3.0 have a 4-byte header length.
            let version = rng.choose(&[1_u8, 2, 3, 0, 4, 255]);
            file[6] = version;
            if matches!(version, 2 | 3) && rng.chance(2) {
                let length = u32::from(u16::from_le_bytes([file[8], file[9]]));
                file.splice(8..10, length.to_le_bytes());
            }
            return true;
        }
        _ => {
            *file = random_npy(rng);
            return true;
        }
    };
    // Usually make the header length match the edited header, so that the edit is read.
    if edited && file.len() >= 10 && file[6] == 1 && !rng.chance(4) {
        let length = header_length(file);
        file[8..10].copy_from_slice(&length.to_le_bytes());
    }
    edited
}
