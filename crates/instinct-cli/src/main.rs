//! The instinct command line.
fn main() {}
