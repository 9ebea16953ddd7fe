//! A tiny net baked into the binary: its bytes were written once by `Mlp2::as_bytes` (from
//! `tiny_2_7_relu_1.json` beside this file), are included with `include_bytes!` and cast back
//! with no parsing. Run: `cargo run -p instinct-cpu --example static_net`.
//!
//! `include_bytes!` only promises byte alignment, and the net's `f32`s need 4, so the bytes are
//! wrapped in an aligned type. The bytes are native-endian (these are little-endian).

use instinct_cpu::Mlp2;

/// Gives its contents 4-byte alignment.
#[repr(C, align(4))]
struct Aligned<B: ?Sized>(B);

static NET: &Aligned<[u8]> = &Aligned(*include_bytes!("tiny_2_7_relu_1.mlp2"));

fn main() {
    let net = match Mlp2::<2, 7, 1>::from_bytes(&NET.0) {
        Ok(net) => net,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    for x in [[0.5, -0.25], [1.0, 1.0], [-2.0, 0.75]] {
        println!("{x:?} -> {:?}", net.forward(&x));
    }
}
