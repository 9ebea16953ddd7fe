//! instinct: load, validate and run small neural networks in the instmodel format
