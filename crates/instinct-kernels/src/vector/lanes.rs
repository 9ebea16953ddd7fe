//! [`Lanes`]: loads and stores of a whole register or of its first few lanes, for `f32` and the
//! x86 registers.

use super::generic::Vector;
#[cfg(target_arch = "x86_64")]
use super::{avx2::F32x8, avx512::F32x16};

/// A register of `LANES` values with loads and stores, whole or of a first few lanes (the
/// rest masked: neither read nor written, so a slice's tail can be handled in place). Plain
/// `f32` is a register of one value.
pub(crate) trait Lanes: Vector {
    /// Values per register.
    const LANES: usize;
    /// Loads `LANES` values.
    ///
    /// # Safety
    /// `p` is readable for `LANES` values; the CPU has the register's features.
    unsafe fn load(p: *const f32) -> Self;
    /// Stores `LANES` values.
    ///
    /// # Safety
    /// `p` is writable for `LANES` values; the CPU has the register's features.
    unsafe fn store(self, p: *mut f32);
    /// Loads the first `n < LANES` values, the other lanes zero.
    ///
    /// # Safety
    /// `p` is readable for `n` values; the CPU has the register's features.
    unsafe fn load_first(p: *const f32, n: usize) -> Self;
    /// Stores the first `n < LANES` values.
    ///
    /// # Safety
    /// `p` is writable for `n` values; the CPU has the register's features.
    unsafe fn store_first(self, p: *mut f32, n: usize);
}

/// Implements [`Lanes`] by the type's inherent loads and stores.
#[cfg(target_arch = "x86_64")]
macro_rules! lanes {
    ($t:ident, $n:literal) => {
        impl Lanes for $t {
            const LANES: usize = $n;
            #[inline(always)]
            unsafe fn load(p: *const f32) -> Self {
                // SAFETY: as the caller promises.
                unsafe { $t::load(p) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut f32) {
                // SAFETY: as the caller promises.
                unsafe { $t::store(self, p) }
            }
            #[inline(always)]
            unsafe fn load_first(p: *const f32, n: usize) -> Self {
                // SAFETY: as the caller promises.
                unsafe { $t::load_first(p, n) }
            }
            #[inline(always)]
            unsafe fn store_first(self, p: *mut f32, n: usize) {
                // SAFETY: as the caller promises.
                unsafe { $t::store_first(self, p, n) }
            }
        }
    };
}

impl Lanes for f32 {
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: as the caller promises.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: as the caller promises.
        unsafe { *p = self }
    }
    #[inline(always)]
    unsafe fn load_first(_: *const f32, _: usize) -> Self {
        // `n < 1`: no value.
        0.0
    }
    #[inline(always)]
    unsafe fn store_first(self, _: *mut f32, _: usize) {}
}

#[cfg(target_arch = "x86_64")]
lanes!(F32x16, 16);
#[cfg(target_arch = "x86_64")]
lanes!(F32x8, 8);
