//! Flush-to-zero for the duration of a processing call: denormals are slow on x86 and
//! validators reject subnormal output.

pub struct FtzGuard {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

impl FtzGuard {
    #[allow(deprecated)]
    #[inline]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: reading and writing MXCSR only changes float rounding/denormal behaviour.
            unsafe {
                use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
                let saved = _mm_getcsr();
                // FTZ (bit 15) | DAZ (bit 6)
                _mm_setcsr(saved | 0x8040);
                Self { saved }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Self {}
        }
    }
}

impl Default for FtzGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FtzGuard {
    #[allow(deprecated)]
    #[inline]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the caller's MXCSR.
        unsafe {
            std::arch::x86_64::_mm_setcsr(self.saved)
        }
    }
}
