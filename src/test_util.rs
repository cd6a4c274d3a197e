//! Assertions and fixtures shared by the unit tests.

/// The study section of a committed spec, read as the full (not `--quick`)
/// run would read it; `path` is relative to the crate's root, so a test
/// finds `experiments/..` and `figures/..` from any working directory.
pub fn study_section<T: serde::de::DeserializeOwned>(path: &str) -> T {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let loaded =
        crate::spec::load(&path, false).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    loaded
        .study_section()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Bit-for-bit equality of two float vectors (weights, outputs). On failure
/// it says how many entries differ and shows the first, never the whole
/// vectors, which for a network are thousands of numbers.
pub fn assert_same_bits<T: Copy + Into<f64>>(a: &[T], b: &[T], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let bits = |v: T| v.into().to_bits();
    let differ = a
        .iter()
        .zip(b)
        .filter(|(&x, &y)| bits(x) != bits(y))
        .count();
    if let Some(i) = (0..a.len()).find(|&i| bits(a[i]) != bits(b[i])) {
        panic!(
            "{what}: {differ} of {} entries differ; first at {i}: {:e} vs {:e}",
            a.len(),
            a[i].into(),
            b[i].into()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "w: 1 of 3 entries differ; first at 1")]
    fn names_the_first_difference() {
        assert_same_bits(&[1.0f32, 2.0, 3.0], &[1.0, 2.5, 3.0], "w");
    }

    #[test]
    fn equal_vectors_pass() {
        assert_same_bits(&[1.0f64, -0.0], &[1.0, -0.0], "w");
    }
}
