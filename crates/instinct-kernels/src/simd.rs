//! Run-time choice of the instruction set for instinct's own vectorised kernels: detected once,
//! or forced with the `INSTINCT_SIMD` environment variable (`scalar`, `avx2`, `avx512`). Below
//! `avx512` the batch engine's matrix products fall back to `matrixmultiply`'s sgemm, which picks
//! its own kernel.
//!
//! Some kernels are one portable body compiled several times, once per level, with the matching
//! `#[target_feature]`s (`multiversion!`), which the compiler vectorises for each; the
//! activations, the per-sample dense layers and the register chain also have explicit AVX2 and
//! AVX-512 forms (`vector.rs`). The portable compilation is the scalar level and runs everywhere.

use std::sync::OnceLock;

/// An instruction-set level the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The target's baseline (SSE2 on x86_64): always available.
    Scalar,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 (F, VL, DQ, BW) with FMA.
    Avx512,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Scalar, Level::Avx2, Level::Avx512];

    /// The name `INSTINCT_SIMD` accepts.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the level (detected once, then a table lookup: the kernels ask
    /// on every call).
    #[inline]
    pub fn is_available(self) -> bool {
        static AVAILABLE: OnceLock<[bool; 3]> = OnceLock::new();
        AVAILABLE.get_or_init(|| Level::ALL.map(Level::detect))[self as usize]
    }

    fn detect(self) -> bool {
        match self {
            Level::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => {
                Level::Avx2.detect()
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512dq")
                    && std::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The levels this CPU can run, lowest first.
    pub fn available() -> Vec<Level> {
        Level::ALL
            .into_iter()
            .filter(|l| l.is_available())
            .collect()
    }
}

/// Whether the CPU has AVX-512 VNNI (`vpdpbusd`), which the int8 kernel of the AVX-512 level
/// needs besides the level's features (detected once).
pub fn has_avx512_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static VNNI: OnceLock<bool> = OnceLock::new();
        *VNNI.get_or_init(|| std::is_x86_feature_detected!("avx512vnni"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The level the kernels use: `INSTINCT_SIMD` if it names an available level, else the best
/// available one. Decided on first use; afterwards one load (inlined into callers).
#[inline]
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(decide_level)
}

#[cold]
fn decide_level() -> Level {
    {
        let best = Level::available()
            .into_iter()
            .max()
            .unwrap_or(Level::Scalar);
        let Ok(name) = std::env::var("INSTINCT_SIMD") else {
            return best;
        };
        let wanted = name.trim().to_ascii_lowercase();
        match Level::ALL.into_iter().find(|l| l.name() == wanted) {
            Some(l) if l.is_available() => l,
            // Said once, on stderr: a typo or a missing feature must not pass for a forced level.
            Some(l) => {
                eprintln!(
                    "instinct: INSTINCT_SIMD={name}: this CPU cannot run {}; using {}",
                    l.name(),
                    best.name()
                );
                best
            }
            None => {
                eprintln!(
                    "instinct: INSTINCT_SIMD={name} is not one of scalar, avx2, avx512; using {}",
                    best.name()
                );
                best
            }
        }
    }
}

/// Defines `$name(level, args..) -> $ret` that runs the portable body `$body(args..)` compiled
/// for the given level. The body must be `#[inline(always)]` so each compilation inlines it.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) => $body:path) => {
        $crate::simd::multiversion! {
            $(#[$meta])* $vis fn $name($($arg: $ty),*) -> () => $body
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty => $body:path) => {
        $(#[$meta])*
        $vis fn $name(level: $crate::simd::Level, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
                fn avx512($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                match level {
                    $crate::simd::Level::Avx512 if $crate::simd::Level::Avx512.is_available() => {
                        // SAFETY: the CPU supports every feature `avx512` was compiled for
                        // (checked just above by `is_available`).
                        return unsafe { avx512($($arg),*) };
                    }
                    $crate::simd::Level::Avx2 | $crate::simd::Level::Avx512
                        if $crate::simd::Level::Avx2.is_available() =>
                    {
                        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                        return unsafe { avx2($($arg),*) };
                    }
                    _ => {}
                }
            }
            let _ = level;
            $body($($arg),*)
        }
    };
}

pub(crate) use multiversion;
