//! Randomness as an input.
//!
//! The engine draws every secret, salt, nonce and code from a [`Random`] the caller
//! hands in: the OS generator natively (`native::OsRandom`), WASI `random` in the
//! component, and [`SeededRandom`] in tests and conformance scenarios.

use core::fmt;
#[cfg(any(test, feature = "testing"))]
use ring::hmac;

/// The random source could not produce bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomError;

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the system random number generator failed")
    }
}

/// A source of cryptographically secure random bytes.
pub trait Random {
    /// Fills `dest` entirely with random bytes.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError>;
}

impl<R: Random + ?Sized> Random for &mut R {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(dest)
    }
}

/// Draws a uniformly distributed value below `bound` (rejection sampling).
pub fn below(rng: &mut dyn Random, bound: u32) -> Result<u32, RandomError> {
    debug_assert!(bound > 0);
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let mut b = [0u8; 4];
        rng.fill(&mut b)?;
        let v = u32::from_le_bytes(b);
        if v < zone {
            return Ok(v % bound);
        }
    }
}

/// A deterministic generator (HMAC-SHA256 in counter mode over a seed).
///
/// For tests and conformance scenarios only: the same seed gives the same
/// secrets on every door. It exists only with the `testing` feature, which
/// no shipped build turns on, so no shipped artifact can name it.
#[cfg(any(test, feature = "testing"))]
pub struct SeededRandom {
    key: hmac::Key,
    counter: u64,
}

#[cfg(any(test, feature = "testing"))]
impl SeededRandom {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom {
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed.to_be_bytes()),
            counter: 0,
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl fmt::Debug for SeededRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededRandom")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

#[cfg(any(test, feature = "testing"))]
impl Random for SeededRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        for chunk in dest.chunks_mut(32) {
            let block = hmac::sign(&self.key, &self.counter.to_be_bytes());
            self.counter += 1;
            chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seed_dependent() {
        let (mut a, mut b, mut c) = (
            SeededRandom::new(7),
            SeededRandom::new(7),
            SeededRandom::new(8),
        );
        let (mut x, mut y, mut z) = ([0u8; 50], [0u8; 50], [0u8; 50]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SeededRandom::new(1);
        let mut seen = [false; 32];
        for _ in 0..2000 {
            let v = below(&mut r, 32).unwrap();
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
