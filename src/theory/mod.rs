//! Each paper's assumptions and predicted quantities, as plain functions.

pub mod benign_regression;
pub mod early_alignment;
pub mod label_noise;
pub mod xor_cluster;
