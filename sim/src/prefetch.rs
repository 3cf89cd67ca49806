//! Software prefetch: asking the cache for memory before it is read.

/// Asks for the cache lines of `bytes` bytes from `start`. A hint only: it never faults and
/// changes nothing a program can observe, so any address will do.
#[inline(always)]
pub(crate) fn lines(start: usize, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut at = start & !63;
        while at < start + bytes {
            // SAFETY: a prefetch is a hint, not an access: it cannot fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(at as *const i8) };
            at += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, bytes);
}

/// [`lines`] for one value.
#[inline(always)]
pub(crate) fn value<T>(v: &T) {
    lines(v as *const T as usize, std::mem::size_of::<T>());
}
