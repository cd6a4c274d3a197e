//! Seeded random streams. Every run of a sweep draws from its own stream,
//! derived from (master seed, run index, purpose), so a result never depends
//! on the thread count, the shard, or the order in which runs execute.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator used everywhere: ChaCha8, portable and reproducible.
pub type Rng = ChaCha8Rng;

/// SplitMix64 finaliser: a bijective mix so nearby seeds give unrelated streams.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Stable 64-bit hash of a purpose tag (FNV-1a), so streams are named, not numbered.
fn tag_hash(tag: &str) -> u64 {
    tag.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The stream for `purpose` (e.g. "data", "init") of run `run` under `seed`.
/// Separate purposes keep, say, the data fixed while the init scheme changes.
pub fn stream(seed: u64, run: u64, purpose: &str) -> Rng {
    let key =
        splitmix64(splitmix64(seed) ^ splitmix64(run.wrapping_add(0x5151)) ^ tag_hash(purpose));
    Rng::seed_from_u64(key)
}

/// How a family of runs (the runs of a panel, of a grid cell, ...) numbers
/// its streams: a structured key, its fields (panel, setting, run, ...),
/// mapped to a stream index.
///
/// While every field after the first is below its radix and the mixed-radix
/// number `start + ((f0 * r1 + f1) * r2 + f2) ...` is below `end`, the index
/// is that number: the numbering the studies used before keys (e.g.
/// `1000 k + r` for run r of panel k), so every existing run keeps its
/// stream. Past that (run 1000 of panel 0, which the plain numbering gave
/// to run 0 of panel 1, or a family spilling into the next one's range) the
/// index is a hash of (family, fields) with the top bit set, above every
/// numbered index, so no two keys share a stream. Families that draw for the
/// same purpose under one seed must have disjoint [start, end) ranges and
/// distinct names.
#[derive(Clone, Copy, Debug)]
pub struct Numbering {
    pub family: &'static str,
    /// The radix of each field after the first (the first is unbounded).
    pub radices: &'static [u64],
    pub start: u64,
    pub end: u64,
}

/// Above every numbered index: the hashed indices live at and above it.
pub const HASHED: u64 = 1 << 63;

impl Numbering {
    /// A family whose range runs from `start` to the hashed indices.
    pub const fn from(family: &'static str, radices: &'static [u64], start: u64) -> Self {
        Numbering {
            family,
            radices,
            start,
            end: HASHED,
        }
    }

    /// The stream index of the key `fields` (one more field than radices).
    pub fn index(&self, fields: &[usize]) -> u64 {
        assert_eq!(
            fields.len(),
            self.radices.len() + 1,
            "stream key of {}",
            self.family
        );
        let numbered =
            fields[1..]
                .iter()
                .zip(self.radices)
                .try_fold(fields[0] as u64, |acc, (&f, &radix)| {
                    let f = f as u64;
                    (f < radix).then(|| acc.checked_mul(radix)?.checked_add(f))?
                });
        match numbered.and_then(|n| n.checked_add(self.start)) {
            Some(i) if i < self.end.min(HASHED) => i,
            _ => {
                HASHED
                    | fields.iter().fold(tag_hash(self.family), |h, &f| {
                        splitmix64(h ^ splitmix64(f as u64))
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(7, 3, "data").random();
        let b: u64 = stream(7, 3, "data").random();
        let c: u64 = stream(7, 4, "data").random();
        let d: u64 = stream(7, 3, "init").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn numbered_keys_keep_the_old_numbers_and_overflow_to_hashes() {
        const PANEL: Numbering = Numbering {
            family: "t:panel",
            radices: &[1000],
            start: 0,
            end: 1_000_000,
        };
        assert_eq!(PANEL.index(&[0, 0]), 0);
        assert_eq!(PANEL.index(&[2, 999]), 2999);
        assert_eq!(PANEL.index(&[999, 999]), 999_999);
        // Run 1000 of panel 0 is not run 0 of panel 1; panel 1000 leaves the range.
        assert!(PANEL.index(&[0, 1000]) >= HASHED);
        assert_ne!(PANEL.index(&[0, 1000]), PANEL.index(&[1, 0]));
        assert!(PANEL.index(&[1000, 0]) >= HASHED);
        assert_eq!(Numbering::from("t", &[], 7).index(&[5]), 12);
        assert!(Numbering::from("t", &[10], u64::MAX - 5).index(&[usize::MAX, 3]) >= HASHED);
    }
}
