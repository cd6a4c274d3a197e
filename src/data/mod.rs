//! Data generators and loaders.

pub mod cifar;
pub mod gaussian_mixture;
pub mod gaussian_span;
pub mod label_noise;
pub mod randomize;
pub mod xor_cluster;
