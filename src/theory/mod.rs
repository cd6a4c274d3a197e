//! Each paper's assumptions and predicted quantities, as plain functions.

pub mod xor_cluster;
