//! Network engines. Nothing here knows about any paper: the studies pass in
//! data, initial weights and hyperparameters.

pub mod activation;
pub mod cnn;
pub mod expressivity;
pub mod gram_update;
pub mod init;
pub mod isa;
pub mod linear;
pub mod loss;
pub mod two_layer;
pub mod wide;

/// Elements of an n x m pass (Z, G, C) below which it stays on one thread:
/// a pass over 32768 of them takes about 10 us, several times what handing
/// chunks to the pool costs.
pub(crate) const PARALLEL_FROM: usize = 1 << 15;
