//! Data generators and loaders.

pub mod gaussian_span;
pub mod label_noise;
pub mod xor_cluster;
