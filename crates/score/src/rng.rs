//! Row/column subsampling and fold assignment depend only on the seed.

use zonegate_domain::rng::SplitMix64;

/// The training generator: the platform's SplitMix64 on a salted seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(SplitMix64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(SplitMix64::new(seed ^ 0x5DEE_CE66_D1CE_4E5B))
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        self.0.unit()
    }

    /// Uniform in 0..n (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0.index(n)
    }
}
