//! Sources of choices: the one interface the generator draws from.
//!
//! A seeded ChaCha RNG gives reproducible programs ([`SeededChoices`]); a list of numbers gives
//! programs that proptest can shrink and cargo-fuzz can mutate ([`StreamChoices`]). An exhausted
//! stream answers 0, and the generator orders every choice simplest first, so a shorter or
//! smaller stream always yields a smaller program that is still valid.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Something that answers "pick a number below `n`".
pub trait Choices {
    /// A number in `0..n`; `n == 0` is treated as 1 (answer 0).
    fn below(&mut self, n: u64) -> u64;

    /// Announces that the generator starts independent part `index` (a recipe group).
    /// Stream sources jump to a fixed window per part, so shrinking one part does not shift the
    /// choices of the others; seeded sources ignore it.
    fn region(&mut self, _index: usize) {}
}

/// Choices read by the program header (units, globals, types) before the first region.
pub const HEADER_LEN: usize = 64;
/// Choices reserved for each region.
pub const REGION_LEN: usize = 48;

/// Choices from a ChaCha8 RNG seeded with a `u64`: same seed, same choices, on every platform.
#[derive(Debug, Clone)]
pub struct SeededChoices {
    rng: ChaCha8Rng,
}

impl SeededChoices {
    /// Choices for `seed`.
    pub fn new(seed: u64) -> SeededChoices {
        SeededChoices {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Choices for SeededChoices {
    fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            0
        } else {
            self.rng.gen_range(0..n)
        }
    }
}

/// Choices read from a list of numbers; 0 once the list runs out.
#[derive(Debug, Clone, Default)]
pub struct StreamChoices {
    data: Vec<u32>,
    pos: usize,
}

impl StreamChoices {
    /// Choices from `data`, in order.
    pub fn new(data: Vec<u32>) -> StreamChoices {
        StreamChoices { data, pos: 0 }
    }
}

impl Choices for StreamChoices {
    fn region(&mut self, index: usize) {
        self.pos = HEADER_LEN + index * REGION_LEN;
    }

    fn below(&mut self, n: u64) -> u64 {
        let v = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        if n <= 1 {
            0
        } else {
            u64::from(v) % n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_choices_repeat_and_stay_in_range() {
        let (mut a, mut b) = (SeededChoices::new(5), SeededChoices::new(5));
        for n in 1..200u64 {
            let x = a.below(n);
            assert_eq!(x, b.below(n));
            assert!(x < n);
        }
        assert_eq!(a.below(0), 0);
    }

    #[test]
    fn exhausted_streams_answer_zero_and_regions_are_fixed_windows() {
        let mut s = StreamChoices::new(vec![7, 9]);
        assert_eq!(s.below(5), 2);
        assert_eq!(s.below(5), 4);
        assert_eq!(s.below(5), 0);
        let mut data = vec![0u32; HEADER_LEN + 2 * REGION_LEN];
        data[HEADER_LEN + REGION_LEN] = 3;
        let mut s = StreamChoices::new(data);
        s.region(1);
        assert_eq!(s.below(10), 3);
    }
}
